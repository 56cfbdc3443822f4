// hazardsync status page: choropleth map of each indicator over the areas,
// plus a 30 s refresh of the server-rendered panels. Hand-written, no
// libraries, no network beyond this server. The dry-run preview inlines this
// file and its data (script#hs-map-data), so it also works from file://.
(function () {
  'use strict';

  var SVGNS = 'http://www.w3.org/2000/svg';
  // Sequential palette for numbers (ColorBrewer OrRd, 5 classes).
  var SEQ = ['#fdd49e', '#fdbb84', '#fc8d59', '#e34a33', '#b30000'];
  var ZERO = '#e3ecd9';
  var NODATA = '#e6eaee';
  // Categorical colours for the project's code lists: alert levels and
  // early-warning levels. Unknown codes get OTHER.
  var CATEGORICAL = {
    none: '#d3dce3', green: '#2e9e5b', orange: '#f0932b', red: '#d63031',
    watch: '#f6d55c', warning: '#f0932b', alert: '#c0392b'
  };
  var OTHER = ['#6c5ce7', '#00a8a8', '#a0522d', '#e84393', '#7f8c8d'];
  var ATTR_ORDER = ['phase', 'method', 'lead_time_hours', 'lead_time', 'level', 'severity', 'hazard', 'hazards', 'events', 'event', 'cleared'];

  var state = { fc: null, indicator: null, level: null, lastRun: null, features: [], fp: null, fpOn: true, found: null };
  var els = {};

  function $(id) { return document.getElementById(id); }

  function fmtNumber(v) {
    if (typeof v !== 'number' || !isFinite(v)) { return String(v); }
    var abs = Math.abs(v);
    var digits = abs >= 100 ? 0 : abs >= 1 ? 1 : 3;
    return v.toLocaleString('en-US', { maximumFractionDigits: digits });
  }

  function fmtShort(v) {
    var abs = Math.abs(v);
    if (abs >= 1e6) { return (v / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 }) + 'M'; }
    if (abs >= 1e4) { return (v / 1e3).toLocaleString('en-US', { maximumFractionDigits: 0 }) + 'k'; }
    if (abs >= 1e3) { return (v / 1e3).toLocaleString('en-US', { maximumFractionDigits: 1 }) + 'k'; }
    return fmtNumber(v);
  }

  // niceBreak rounds a class break to two significant digits so the legend
  // reads "1,200" rather than "1,187.4".
  function niceBreak(v) {
    if (v === 0) { return 0; }
    var p = Math.pow(10, Math.floor(Math.log10(Math.abs(v))) - 1);
    return Math.round(v / p) * p;
  }

  function indicatorByCode(code) {
    var inds = (state.fc && state.fc.indicators) || [];
    for (var i = 0; i < inds.length; i++) { if (inds[i].shortcode === code) { return inds[i]; } }
    return null;
  }

  function valueOf(f, ind) {
    var v = f.properties[ind.property];
    return v === undefined ? null : v;
  }

  function levelsOf(fc) {
    return (fc.levels || []).slice().sort(function (a, b) { return a - b; });
  }

  // defaultLevel: the deepest level where the indicator has values (most
  // detail), else the deepest level it is computed at.
  function defaultLevel(ind) {
    var levels = levelsOf(state.fc);
    var withValues = {};
    state.fc.features.forEach(function (f) {
      if (valueOf(f, ind) !== null) { withValues[f.properties.admin_level] = true; }
    });
    for (var i = levels.length - 1; i >= 0; i--) { if (withValues[levels[i]]) { return levels[i]; } }
    if (ind.admin_levels && ind.admin_levels.length) { return Math.max.apply(null, ind.admin_levels); }
    return levels.length ? levels[levels.length - 1] : 0;
  }

  function readHash() {
    var out = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var p = kv.split('=');
      if (p[0]) { out[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || ''); }
    });
    return out;
  }

  function writeHash() {
    var h = '#ind=' + encodeURIComponent(state.indicator) + '&level=' + state.level;
    var area = readHash().area;
    if (area) { h += '&area=' + encodeURIComponent(area); }
    if (!state.fpOn) { h += '&fp=0'; }
    if (history.replaceState) { history.replaceState(null, '', h); }
  }

  function option(value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  function fillControls() {
    var inds = state.fc.indicators || [];
    els.ind.textContent = '';
    inds.forEach(function (ind) {
      els.ind.appendChild(option(ind.shortcode, ind.name + (ind.values ? '' : ' (no values)')));
    });
    els.level.textContent = '';
    levelsOf(state.fc).forEach(function (l) {
      var n = state.fc.features.filter(function (f) { return f.properties.admin_level === l; }).length;
      els.level.appendChild(option(String(l), 'Admin ' + l + ' (' + n + ' areas)'));
    });
    if (!indicatorByCode(state.indicator)) {
      var h = readHash();
      var pick = indicatorByCode(h.ind) || inds.filter(function (i) { return i.values > 0; })[0] || inds[0];
      state.indicator = pick ? pick.shortcode : null;
      state.level = pick ? (h.ind === pick.shortcode && h.level !== undefined && levelsOf(state.fc).indexOf(+h.level) >= 0 ? +h.level : defaultLevel(pick)) : levelsOf(state.fc)[0];
    }
    if (state.indicator) { els.ind.value = state.indicator; }
    if (state.level !== null && state.level !== undefined) { els.level.value = String(state.level); }
  }

  // project returns a lon/lat → SVG x/y function for the features: an
  // equirectangular projection with cos(mid-latitude) aspect, scaled so the
  // box is 1000 units wide. Longitudes are shifted when the areas straddle
  // the antimeridian.
  function projection(features) {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, west = false, east = false;
    eachPoint(features, function (p) {
      if (p[0] < -90) { west = true; }
      if (p[0] > 90) { east = true; }
    });
    var shift = west && east;
    eachPoint(features, function (p) {
      var x = shift && p[0] < 0 ? p[0] + 360 : p[0];
      if (x < minX) { minX = x; }
      if (x > maxX) { maxX = x; }
      if (p[1] < minY) { minY = p[1]; }
      if (p[1] > maxY) { maxY = p[1]; }
    });
    if (!isFinite(minX)) { return null; }
    var k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
    var w = Math.max((maxX - minX) * k, 1e-9);
    var s = 1000 / w;
    var h = Math.max((maxY - minY) * s, 1);
    return {
      width: 1000, height: h,
      fn: function (p) {
        var x = shift && p[0] < 0 ? p[0] + 360 : p[0];
        return [((x - minX) * k * s), ((maxY - p[1]) * s)];
      }
    };
  }

  function polygonsOf(g) {
    if (!g) { return []; }
    if (g.type === 'Polygon') { return [g.coordinates]; }
    if (g.type === 'MultiPolygon') { return g.coordinates; }
    return [];
  }

  function eachPoint(features, fn) {
    features.forEach(function (f) {
      polygonsOf(f.geometry).forEach(function (poly) {
        poly.forEach(function (ring) { ring.forEach(fn); });
      });
    });
  }

  function pathData(g, proj) {
    var d = [];
    polygonsOf(g).forEach(function (poly) {
      poly.forEach(function (ring) {
        ring.forEach(function (p, i) {
          var xy = proj(p);
          d.push((i === 0 ? 'M' : 'L') + xy[0].toFixed(1) + ' ' + xy[1].toFixed(1));
        });
        d.push('Z');
      });
    });
    return d.join('');
  }

  // classify returns {colour(v), legend:[{colour,label,count}]} for the
  // values of one indicator at one level.
  function classify(ind, values) {
    var legend = [];
    var present = values.filter(function (v) { return v !== null; });
    var isText = ind.type === 'String' || present.some(function (v) { return typeof v === 'string'; });
    if (isText) {
      var codes = (ind.codes && ind.codes.length) ? ind.codes.slice() : [];
      present.forEach(function (v) { if (codes.indexOf(v) < 0) { codes.push(v); } });
      var colours = {}, other = 0;
      codes.forEach(function (c) {
        colours[c] = CATEGORICAL[String(c).toLowerCase()] || OTHER[other++ % OTHER.length];
        legend.push({ colour: colours[c], label: c, count: present.filter(function (v) { return v === c; }).length });
      });
      return { colour: function (v) { return colours[v] || NODATA; }, legend: legend };
    }
    // Lead times: the shortest is the most urgent, so the ramp runs the
    // other way and 0 ("reached now") is the strongest class, not "nothing".
    var urgent = !!ind.lower_is_urgent;
    var nums = present.filter(function (v) { return typeof v === 'number' && (urgent || v !== 0); }).sort(function (a, b) { return a - b; });
    var zeros = urgent ? 0 : present.filter(function (v) { return v === 0; }).length;
    var breaks = [];
    if (nums.length) {
      // Quantile breaks over the non-zero values: hazard figures are
      // heavily skewed, equal intervals would paint nearly everything the
      // lightest class.
      var k = Math.min(SEQ.length, nums.length);
      for (var i = 1; i < k; i++) {
        var b = niceBreak(nums[Math.floor(i * nums.length / k)]);
        if (b > nums[0] && breaks.indexOf(b) < 0 && (breaks.length === 0 || b > breaks[breaks.length - 1])) { breaks.push(b); }
      }
    }
    var n = breaks.length + 1;
    // Spread fewer classes over the whole ramp (one class: a mid tone).
    var pal = [];
    for (var pi = 0; pi < n; pi++) { pal.push(SEQ[n === 1 ? 2 : Math.round(pi * (SEQ.length - 1) / (n - 1))]); }
    if (urgent) { pal.reverse(); }
    function cls(v) {
      var c = 0;
      while (c < breaks.length && v >= breaks[c]) { c++; }
      return c;
    }
    if (zeros) { legend.push({ colour: ZERO, label: '0', count: zeros }); }
    if (nums.length) {
      for (var c = 0; c < n; c++) {
        var lo = c === 0 ? nums[0] : breaks[c - 1];
        var hi = c === n - 1 ? nums[nums.length - 1] : breaks[c];
        var label = n === 1 ? fmtShort(lo) + (lo === hi ? '' : ' – ' + fmtShort(hi)) : (c === n - 1 ? '≥ ' + fmtShort(lo) : fmtShort(lo) + ' – < ' + fmtShort(hi));
        // A lead time of 0 means the level is reached already.
        if (urgent && lo === 0) { label = lo === hi ? 'now (0 h)' : label.replace(/^0/, 'now'); }
        legend.push({
          colour: pal[c], label: label,
          count: nums.filter(function (v) { return cls(v) === c; }).length
        });
      }
    }
    return {
      colour: function (v) {
        if (v === null || typeof v !== 'number') { return NODATA; }
        if (v === 0 && !urgent) { return ZERO; }
        return pal[cls(v)];
      },
      legend: legend
    };
  }

  function render() {
    var ind = indicatorByCode(state.indicator);
    var level = state.level;
    var feats = state.fc.features.filter(function (f) { return f.properties.admin_level === level && f.geometry; });
    els.map.textContent = '';
    els.legend.textContent = '';
    els.desc.textContent = ind ? (ind.description || '') : '';
    if (!feats.length) {
      els.map.appendChild(msg('No areas with a geometry at admin level ' + level + '.'));
      els.summary.textContent = '';
      return;
    }
    var proj = projection(feats);
    var values = feats.map(function (f) { return ind ? valueOf(f, ind) : null; });
    var scheme = ind ? classify(ind, values) : { colour: function () { return NODATA; }, legend: [] };
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '-4 -4 ' + (proj.width + 8).toFixed(1) + ' ' + (proj.height + 8).toFixed(1));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', (ind ? ind.name : 'Areas') + ' by area, admin level ' + level);
    svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    svg.appendChild(hatch());
    var g = document.createElementNS(SVGNS, 'g');
    var focusable = feats.length <= 400;
    feats.forEach(function (f, i) {
      var p = document.createElementNS(SVGNS, 'path');
      p.setAttribute('d', pathData(f.geometry, proj.fn));
      p.setAttribute('fill-rule', 'evenodd');
      p.setAttribute('class', 'area' + (values[i] === null ? ' nodata' : ''));
      if (values[i] !== null) { p.setAttribute('fill', scheme.colour(values[i])); }
      p.setAttribute('data-code', f.properties.ucode);
      if (focusable) { p.setAttribute('tabindex', '0'); }
      var t = document.createElementNS(SVGNS, 'title');
      t.textContent = (f.properties.name || f.properties.ucode) + ': ' + (values[i] === null ? 'no value' : (typeof values[i] === 'number' ? fmtNumber(values[i]) : values[i]));
      p.appendChild(t);
      p._feature = f;
      g.appendChild(p);
    });
    svg.appendChild(g);
    // Outline the parent level over the fill, so districts read within
    // their provinces.
    var parentLevel = levelsOf(state.fc).filter(function (l) { return l < level; }).pop();
    if (parentLevel !== undefined) {
      var og = document.createElementNS(SVGNS, 'g');
      state.fc.features.forEach(function (f) {
        if (f.properties.admin_level !== parentLevel || !f.geometry) { return; }
        var o = document.createElementNS(SVGNS, 'path');
        o.setAttribute('d', pathData(f.geometry, proj.fn));
        o.setAttribute('class', 'outline');
        og.appendChild(o);
      });
      svg.appendChild(og);
    }
    var nfp = drawFootprints(svg, proj.fn);
    els.map.appendChild(svg);
    // #area=<ucode> links to one area: its details open on load.
    var linked = readHash().area;
    if (linked) {
      var paths = g.childNodes;
      for (var pi = 0; pi < paths.length; pi++) {
        if (paths[pi].getAttribute('data-code') === linked) {
          var r = paths[pi].getBoundingClientRect();
          paths[pi].setAttribute('class', paths[pi].getAttribute('class') + ' linked');
          label(svg, paths[pi]);
          showTip(paths[pi], r.left + r.width / 2, r.top + r.height / 2);
        }
      }
    }
    renderLegend(ind, scheme, values, nfp);
    renderTable(ind, feats, values);
    var withValue = values.filter(function (v) { return v !== null; }).length;
    var dates = {};
    feats.forEach(function (f) { var d = ind && f.properties.dates && f.properties.dates[ind.shortcode]; if (d) { dates[d] = true; } });
    var ds = Object.keys(dates).sort();
    els.summary.textContent = feats.length + ' areas at admin level ' + level + ' · ' + withValue + ' with a value' +
      (ds.length ? ' · date ' + ds.join(', ') : '') + '. Hover or focus an area for details.';
  }

  // drawFootprints overlays the active hazards' footprints: outlines with a
  // light tint (dashed when forecast), points as dots. Returns how many
  // observed and forecast parts were drawn.
  function drawFootprints(svg, proj) {
    var out = { observed: 0, forecast: 0 };
    if (!state.fp || !state.fp.features || !state.fp.features.length) { return out; }
    // Clip to the areas' box: footprints reach far beyond the country.
    var box = svg.viewBox.baseVal;
    var clip = document.createElementNS(SVGNS, 'clipPath');
    clip.setAttribute('id', 'hs-fp-clip');
    var rect = document.createElementNS(SVGNS, 'rect');
    rect.setAttribute('x', box.x); rect.setAttribute('y', box.y);
    rect.setAttribute('width', box.width); rect.setAttribute('height', box.height);
    clip.appendChild(rect);
    svg.appendChild(clip);
    var fg = document.createElementNS(SVGNS, 'g');
    fg.setAttribute('id', 'fp-layer');
    fg.setAttribute('clip-path', 'url(#hs-fp-clip)');
    fg.setAttribute('class', state.fpOn ? 'fp-layer' : 'fp-layer fp-hidden');
    state.fp.features.forEach(function (f) {
      var g = f.geometry;
      if (!g) { return; }
      var forecast = f.properties.phase === 'forecast';
      var el;
      if (g.type === 'Point') {
        var xy = proj(g.coordinates);
        el = document.createElementNS(SVGNS, 'circle');
        el.setAttribute('cx', xy[0].toFixed(1));
        el.setAttribute('cy', xy[1].toFixed(1));
        el.setAttribute('r', '3.5');
      } else if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
        el = document.createElementNS(SVGNS, 'path');
        el.setAttribute('d', pathData(g, proj));
        el.setAttribute('fill-rule', 'evenodd');
      } else {
        return;
      }
      el.setAttribute('class', 'fp' + (forecast ? ' forecast' : ''));
      el.setAttribute('data-event', f.properties.event);
      if (forecast) { out.forecast++; } else { out.observed++; }
      fg.appendChild(el);
    });
    svg.appendChild(fg);
    return out;
  }

  // label writes an area's name on the map at the middle of its box (the
  // found or linked area; hover shows the others in the tooltip).
  function label(svg, path) {
    var f = path._feature;
    var b = path.getBBox();
    var t = document.createElementNS(SVGNS, 'text');
    t.setAttribute('class', 'label');
    t.setAttribute('x', (b.x + b.width / 2).toFixed(1));
    t.setAttribute('y', (b.y + b.height / 2).toFixed(1));
    t.setAttribute('text-anchor', 'middle');
    t.setAttribute('dominant-baseline', 'middle');
    t.textContent = f.properties.name || f.properties.ucode;
    // The same size on screen however the map is scaled (a phone shows
    // the 1000-unit box at a third of its size).
    var k = svg.viewBox.baseVal.width / Math.max(1, svg.getBoundingClientRect().width);
    t.style.fontSize = (14 * k).toFixed(1) + 'px';
    t.style.strokeWidth = (3 * k).toFixed(1) + 'px';
    svg.appendChild(t);
  }

  // hatch is the "no value" fill: a pattern, so it never reads as a
  // colour of the scale (e.g. the light "none" code).
  function hatch() {
    var defs = document.createElementNS(SVGNS, 'defs');
    var pat = document.createElementNS(SVGNS, 'pattern');
    pat.setAttribute('id', 'hs-nodata');
    pat.setAttribute('width', '7');
    pat.setAttribute('height', '7');
    pat.setAttribute('patternUnits', 'userSpaceOnUse');
    pat.setAttribute('patternTransform', 'rotate(45)');
    var bg = document.createElementNS(SVGNS, 'rect');
    bg.setAttribute('width', '7');
    bg.setAttribute('height', '7');
    bg.setAttribute('fill', '#f1f3f5');
    var ln = document.createElementNS(SVGNS, 'rect');
    ln.setAttribute('width', '2');
    ln.setAttribute('height', '7');
    ln.setAttribute('fill', '#d5dbe1');
    pat.appendChild(bg);
    pat.appendChild(ln);
    defs.appendChild(pat);
    return defs;
  }

  function msg(text) {
    var p = document.createElement('p');
    p.className = 'map-empty';
    p.textContent = text;
    return p;
  }

  function renderLegend(ind, scheme, values, nfp) {
    var h = document.createElement('h3');
    h.textContent = ind ? ind.name : 'No indicator';
    if (ind && ind.unit) {
      var u = document.createElement('span');
      u.className = 'unit';
      u.textContent = ' (' + ind.unit + ')';
      h.appendChild(u);
    }
    els.legend.appendChild(h);
    var ul = document.createElement('ul');
    var items = scheme.legend.slice();
    var missing = values.filter(function (v) { return v === null; }).length;
    if (missing) { items.push({ nodata: true, label: 'no value', count: missing }); }
    items.forEach(function (it) {
      var li = document.createElement('li');
      li.className = 'legend-item';
      var sw = document.createElement('span');
      sw.className = 'sw';
      if (it.nodata) { sw.className += ' sw-nodata'; } else { sw.style.background = it.colour; }
      var lab = document.createElement('span');
      lab.textContent = it.label;
      var cnt = document.createElement('span');
      cnt.className = 'count';
      cnt.textContent = it.count;
      li.appendChild(sw); li.appendChild(lab); li.appendChild(cnt);
      ul.appendChild(li);
    });
    els.legend.appendChild(ul);
    if (nfp && (nfp.observed || nfp.forecast) && state.fpOn) {
      var fh = document.createElement('h3');
      fh.textContent = 'Hazard footprints';
      fh.className = 'legend-fp';
      els.legend.appendChild(fh);
      var ful = document.createElement('ul');
      [['observed', 'sw-fp', nfp.observed], ['forecast', 'sw-fp-forecast', nfp.forecast]].forEach(function (it) {
        if (!it[2]) { return; }
        var li = document.createElement('li');
        li.className = 'legend-item';
        var sw = document.createElement('span');
        sw.className = 'sw ' + it[1];
        var lab = document.createElement('span');
        lab.textContent = it[0];
        var cnt = document.createElement('span');
        cnt.className = 'count';
        cnt.textContent = it[2];
        li.appendChild(sw); li.appendChild(lab); li.appendChild(cnt);
        ful.appendChild(li);
      });
      els.legend.appendChild(ful);
    }
    var note = document.createElement('p');
    note.className = 'note';
    if (ind && ind.lower_is_urgent) {
      note.textContent = 'Shorter lead time, stronger colour. Classes are quantiles; counts are areas.';
    } else {
      note.textContent = ind && ind.type !== 'String' ? 'Classes are quantiles of the non-zero values; counts are areas.' : 'Counts are areas.';
    }
    if (nfp && (nfp.observed || nfp.forecast) && state.fpOn) { note.textContent += ' Footprint counts are parts.'; }
    els.legend.appendChild(note);
  }

  function renderTable(ind, feats, values) {
    var rows = feats.map(function (f, i) { return { f: f, v: values[i] }; });
    rows.sort(function (a, b) {
      if (a.v === null) { return b.v === null ? 0 : 1; }
      if (b.v === null) { return -1; }
      if (typeof a.v === 'number' && typeof b.v === 'number') { return b.v - a.v; }
      var codes = (ind && ind.codes) || [];
      return codes.indexOf(b.v) - codes.indexOf(a.v);
    });
    var t = document.createElement('table');
    t.innerHTML = '<thead><tr><th scope="col">Area</th><th scope="col">Code</th><th scope="col" class="num">Value</th><th scope="col">Attributes</th></tr></thead>';
    var tb = document.createElement('tbody');
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      cell(tr, 'td', r.f.properties.name || '');
      cell(tr, 'td', r.f.properties.ucode);
      cell(tr, 'td', r.v === null ? '—' : (typeof r.v === 'number' ? fmtNumber(r.v) : r.v), 'num');
      var a = ind && r.f.properties.attributes && r.f.properties.attributes[ind.shortcode];
      cell(tr, 'td', a ? attrPairs(a).map(function (p) { return p[0] + '=' + p[1]; }).join(', ') : '', 'small');
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    els.table.textContent = '';
    els.table.appendChild(t);
  }

  function cell(tr, tag, text, cls) {
    var c = document.createElement(tag);
    c.textContent = text;
    if (cls) { c.className = cls; }
    tr.appendChild(c);
  }

  function attrText(v) {
    if (v === null || v === undefined) { return ''; }
    if (Array.isArray(v)) { v = v.map(attrText).join(', '); } else if (typeof v === 'object') { v = JSON.stringify(v); } else if (typeof v === 'number') { v = fmtNumber(v); }
    v = String(v);
    return v.length > 90 ? v.slice(0, 87) + '…' : v;
  }

  function attrPairs(a) {
    var keys = Object.keys(a).sort(function (x, y) {
      var ix = ATTR_ORDER.indexOf(x), iy = ATTR_ORDER.indexOf(y);
      ix = ix < 0 ? 99 : ix; iy = iy < 0 ? 99 : iy;
      return ix - iy || (x < y ? -1 : x > y ? 1 : 0);
    });
    return keys.slice(0, 10).map(function (k) { return [k.replace(/_/g, ' '), attrText(a[k])]; });
  }

  function showTip(path, x, y) {
    var f = path._feature;
    var ind = indicatorByCode(state.indicator);
    var v = ind ? valueOf(f, ind) : null;
    var tip = els.tip;
    tip.textContent = '';
    var name = document.createElement('div');
    name.className = 'tt-name';
    name.textContent = f.properties.name || f.properties.ucode;
    var code = document.createElement('div');
    code.className = 'tt-code';
    code.textContent = f.properties.ucode + ' · admin ' + f.properties.admin_level;
    var val = document.createElement('div');
    val.className = 'tt-value';
    val.textContent = v === null ? 'no value' : (typeof v === 'number' ? fmtNumber(v) : v) + (ind && ind.unit && typeof v === 'number' ? ' ' + ind.unit : '');
    tip.appendChild(name); tip.appendChild(code); tip.appendChild(val);
    var rows = [];
    var d = ind && f.properties.dates && f.properties.dates[ind.shortcode];
    if (d) { rows.push(['date', d]); }
    var a = ind && f.properties.attributes && f.properties.attributes[ind.shortcode];
    if (a) { rows = rows.concat(attrPairs(a)); }
    if (typeof f.properties.under18 === 'number') { rows.push(['under-18', fmtNumber(f.properties.under18)]); }
    if (typeof f.properties.population === 'number') { rows.push(['population', fmtNumber(f.properties.population)]); }
    if (rows.length) {
      var t = document.createElement('table');
      rows.forEach(function (r) { var tr = document.createElement('tr'); cell(tr, 'td', r[0]); cell(tr, 'td', r[1]); t.appendChild(tr); });
      tip.appendChild(t);
    }
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = x + 14, top = y + 14;
    if (left + w > window.innerWidth - 8) { left = x - w - 14; }
    if (top + h > window.innerHeight - 8) { top = y - h - 14; }
    tip.style.left = Math.max(8, left) + 'px';
    tip.style.top = Math.max(8, top) + 'px';
  }

  function hideTip() { els.tip.hidden = true; }

  function wireMap() {
    els.map.addEventListener('mousemove', function (e) {
      if (e.target && e.target._feature) { showTip(e.target, e.clientX, e.clientY); } else { hideTip(); }
    });
    els.map.addEventListener('mouseleave', hideTip);
    els.map.addEventListener('focusin', function (e) {
      if (e.target && e.target._feature) {
        var r = e.target.getBoundingClientRect();
        showTip(e.target, r.left + r.width / 2, r.top + r.height / 2);
      }
    });
    els.map.addEventListener('focusout', hideTip);
    els.ind.addEventListener('change', function () {
      state.indicator = els.ind.value;
      state.level = defaultLevel(indicatorByCode(state.indicator));
      els.level.value = String(state.level);
      writeHash();
      render();
    });
    els.level.addEventListener('change', function () {
      state.level = +els.level.value;
      writeHash();
      render();
    });
  }

  // findArea picks the area whose name or code matches the text (exact,
  // then prefix), preferring the level on show.
  function findArea(text) {
    var q = String(text || '').trim().toLowerCase();
    if (!q || !state.fc) { return null; }
    var m = /^(.*) \(admin (\d+)\)$/.exec(q);
    var lvl = m ? +m[2] : null;
    if (m) { q = m[1]; }
    var best = null, bestRank = 9;
    state.fc.features.forEach(function (f) {
      if (!f.geometry) { return; }
      var name = String(f.properties.name || '').toLowerCase();
      var code = String(f.properties.ucode || '').toLowerCase();
      var rank = (name === q || code === q) ? 0 : (name.indexOf(q) === 0 || code.indexOf(q) === 0) ? 2 : (name.indexOf(q) >= 0) ? 4 : 9;
      if (rank === 9) { return; }
      if (lvl !== null && f.properties.admin_level !== lvl) { rank += 1; }
      if (lvl === null && f.properties.admin_level !== state.level) { rank += 1; }
      if (rank < bestRank) { best = f; bestRank = rank; }
    });
    return best;
  }

  // focusArea shows one area: its level, its name on the map, its details.
  function focusArea(code) {
    var f = null;
    state.fc.features.forEach(function (x) { if (x.properties.ucode === code) { f = x; } });
    if (!f) { return false; }
    if (f.properties.admin_level !== state.level) {
      state.level = f.properties.admin_level;
      els.level.value = String(state.level);
    }
    var h = '#ind=' + encodeURIComponent(state.indicator) + '&level=' + state.level + '&area=' + encodeURIComponent(code) + (state.fpOn ? '' : '&fp=0');
    if (history.replaceState) { history.replaceState(null, '', h); }
    render();
    return true;
  }

  function fillSearch() {
    if (!els.names) { return; }
    els.names.textContent = '';
    var seen = {};
    state.fc.features.forEach(function (f) {
      var n = (f.properties.name || f.properties.ucode) + ' (admin ' + f.properties.admin_level + ')';
      if (seen[n]) { return; }
      seen[n] = true;
      els.names.appendChild(option(n, f.properties.ucode));
    });
  }

  function wireSearch() {
    if (!els.search) { return; }
    function go() {
      var f = findArea(els.search.value);
      els.search.setCustomValidity(f || !els.search.value ? '' : 'no such area');
      if (f) { focusArea(f.properties.ucode); }
    }
    els.search.addEventListener('change', go);
    els.search.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); go(); } });
    // Area links in the summary and the warnings table show the area.
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('[data-area]') : null;
      if (!a || !state.fc) { return; }
      e.preventDefault();
      if (focusArea(a.getAttribute('data-area'))) { $('map-panel').scrollIntoView({ block: 'start' }); }
    });
    if (els.fpToggle) {
      // The overlay's state lives in the URL like the rest of the view.
      state.fpOn = readHash().fp !== '0';
      els.fpToggle.checked = state.fpOn;
      els.fpToggle.addEventListener('change', function () {
        state.fpOn = els.fpToggle.checked;
        writeHash();
        render();
      });
    }
  }

  // filterLevels shows only the warnings at one level ('' = all); the
  // choice survives the 30 s refresh.
  function filterLevels(level) {
    state.levelFilter = level || '';
    var rows = document.querySelectorAll('#warnings-table tbody tr');
    for (var i = 0; i < rows.length; i++) {
      rows[i].hidden = !!state.levelFilter && rows[i].getAttribute('data-level') !== state.levelFilter;
    }
    var btns = document.querySelectorAll('#warnings button[data-level-filter]');
    for (var j = 0; j < btns.length; j++) {
      var on = btns[j].getAttribute('data-level-filter') === state.levelFilter;
      btns[j].className = 'filter' + (on ? ' on' : '');
      btns[j].setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  function wireFilters() {
    document.addEventListener('click', function (e) {
      var b = e.target && e.target.closest ? e.target.closest('[data-level-filter]') : null;
      if (!b) { return; }
      filterLevels(b.getAttribute('data-level-filter'));
      if (b.tagName === 'A') {
        e.preventDefault();
        $('warnings').scrollIntoView({ block: 'start' });
      }
    });
  }

  function loadFootprints() {
    var inline = $('hs-footprints');
    if (inline) { return Promise.resolve(JSON.parse(inline.textContent)); }
    if (!document.body.getAttribute('data-live')) { return Promise.resolve(null); }
    return fetch('api/footprints.geojson', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).catch(function () { return null; });
  }

  function setFootprints(fc) {
    state.fp = fc;
    var have = !!(fc && fc.features && fc.features.length);
    if (els.fpLabel) { els.fpLabel.hidden = !have; }
  }

  function setData(fc) {
    state.fc = fc;
    if (!fc.features || !fc.features.length) {
      els.map.textContent = '';
      els.map.appendChild(msg('No areas are loaded yet.'));
      return;
    }
    if (!fc.indicators || !fc.indicators.length) {
      fc.indicators = [];
    }
    fillControls();
    fillSearch();
    // #find=<name> searches like the box does (links from elsewhere).
    var find = readHash().find;
    var found = find ? findArea(find) : null;
    if (found) {
      els.search.value = find;
      focusArea(found.properties.ucode);
      return;
    }
    // #area=<ucode> (links from the summary, opened in a new tab) shows the
    // area at its own level.
    var area = readHash().area;
    if (area && focusArea(area)) { return; }
    render();
  }

  function loadMap() {
    var inline = $('hs-map-data');
    if (inline) { return Promise.resolve(JSON.parse(inline.textContent)); }
    return fetch('api/areas.geojson', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error('api/areas.geojson: HTTP ' + r.status); }
      return r.json();
    });
  }

  // refresh swaps in the server-rendered panels (same template, so no
  // second rendering of the tables in JS) and reloads the map data when a
  // new sync has run.
  function refresh() {
    var stateEl = $('refresh-state');
    fetch('api/status', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.json();
    }).then(function (s) {
      var started = s.last_run && s.last_run.started;
      var changed = started !== state.lastRun;
      state.lastRun = started;
      return fetch(location.pathname, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.text();
      }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var nodes = document.querySelectorAll('[data-refresh]');
        for (var i = 0; i < nodes.length; i++) {
          var fresh = doc.getElementById(nodes[i].id);
          if (fresh) { nodes[i].innerHTML = fresh.innerHTML; }
        }
        if (stateEl) { stateEl.textContent = ''; }
        if (state.levelFilter) { filterLevels(state.levelFilter); }
        if (changed) { return loadFootprints().then(setFootprints).then(loadMap).then(setData); }
      });
    }).catch(function (err) {
      if (stateEl) { stateEl.textContent = '(last refresh failed: ' + err.message + ')'; }
    });
  }

  function start() {
    els = {
      map: $('map'), legend: $('legend'), tip: $('tooltip'), ind: $('ind-select'), level: $('level-select'),
      summary: $('map-summary'), desc: $('ind-desc'), table: $('values-table'),
      search: $('area-search'), names: $('area-names'), fpToggle: $('fp-toggle'), fpLabel: $('fp-toggle-label')
    };
    if (!els.map) { return; }
    wireMap();
    wireSearch();
    wireFilters();
    // #wl=<level> opens the warnings filtered to one level.
    if (readHash().wl) { filterLevels(readHash().wl); }
    loadFootprints().then(setFootprints).then(loadMap).then(setData).catch(function (err) {
      els.map.textContent = '';
      els.map.appendChild(msg('The map could not be loaded: ' + err.message));
    });
    if (document.body.getAttribute('data-live')) {
      fetch('api/status', { cache: 'no-store', credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s && s.last_run) { state.lastRun = s.last_run.started; } }).catch(function () {});
      setInterval(refresh, 30000);
    }
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
}());
