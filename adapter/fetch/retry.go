package fetch

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/time/rate"
)

// RetryPolicy is the one retry policy of hazardsync's HTTP clients (this
// fetcher and the GeoSight client), set on a resty client so that resty's
// own machinery runs it:
//
//   - retry count: a request is repeated at most Retries times after the
//     first attempt;
//   - retry condition (Retryable): transport errors, timeouts of one
//     attempt, 429 and 5xx are repeated; any other status, a body over the
//     size limit, a cancelled or expired context, a wait (backoff ceiling
//     or Retry-After) that could outlast the context's deadline, and a
//     failure before the request was sent (rate limiter, request building)
//     are not: the last answer comes back at once;
//   - wait (resty's RetryAfter callback): exponential backoff with jitter,
//     Base doubling per attempt up to Max, drawn from its upper half; at
//     least a server's Retry-After (seconds or HTTP date), itself capped at
//     MaxRetryAfter;
//   - rate limit: every attempt, retries included, waits for Limiter (when
//     set) as a resty request middleware, so a cancelled context ends the
//     wait. (resty v2's SetRateLimiter only asks Allow() and fails a
//     request over the rate instead of delaying it.)
type RetryPolicy struct {
	Retries   int
	Base, Max time.Duration
	// MaxRetryAfter caps the wait a Retry-After asks for (0 =
	// DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration
	Limiter       *rate.Limiter
	// OnRetry, when set, is told each failed attempt that will be repeated,
	// before the wait (resp.Request.Attempt is the attempt that failed).
	OnRetry func(resp *resty.Response, err error)
}

// DefaultMaxRetryAfter is the longest Retry-After honoured by default.
const DefaultMaxRetryAfter = 5 * time.Minute

// Apply sets the policy on rc and returns rc. Apply once per client, before
// its first request; rc keeps using p, so SetBackoff works later too.
func (p *RetryPolicy) Apply(rc *resty.Client) *resty.Client {
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	p.SetBackoff(rc, p.Base, p.Max)
	rc.SetRetryCount(max(p.Retries, 0)).
		AddRetryCondition(func(resp *resty.Response, err error) bool {
			return p.Retryable(resp, err)
		}).
		SetRetryAfter(func(_ *resty.Client, resp *resty.Response) (time.Duration, error) {
			return p.Wait(resp.Request.Attempt, resp.Header(), time.Now()), nil
		}).
		AddRetryHook(func(resp *resty.Response, err error) {
			// resty calls hooks after the last attempt too; that answer
			// goes back to the caller untouched.
			if resp == nil || resp.Request == nil || resp.Request.Attempt > rc.RetryCount {
				return
			}
			// An unparsed (streamed) answer that is dropped for a retry
			// would otherwise hold its connection.
			if resp.RawResponse != nil && resp.RawResponse.Body != nil {
				_ = resp.RawResponse.Body.Close()
			}
			if p.OnRetry != nil {
				p.OnRetry(resp, err)
			}
		})
	if p.Limiter != nil {
		rc.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error {
			return p.Limiter.Wait(r.Context())
		})
	}
	return rc
}

// SetBackoff changes Base and Max of a policy applied to rc (tests shorten
// them). Not while rc has requests in flight.
func (p *RetryPolicy) SetBackoff(rc *resty.Client, base, maxWait time.Duration) {
	p.Base, p.Max = base, maxWait
	// resty clamps the callback's wait to these.
	rc.SetRetryWaitTime(0).SetRetryMaxWaitTime(max(maxWait, p.MaxRetryAfter))
}

// Retryable is the policy's retry condition (see RetryPolicy).
func (p *RetryPolicy) Retryable(resp *resty.Response, err error) bool {
	if resp == nil || resp.Request == nil {
		return false // nothing was sent
	}
	ctx := resp.Request.Context()
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return !errors.Is(err, resty.ErrResponseBodyTooLarge)
	}
	if st := resp.StatusCode(); st != http.StatusTooManyRequests && st < 500 {
		return false
	}
	if dl, ok := ctx.Deadline(); ok {
		backoff, after := p.waits(resp.Request.Attempt, resp.Header(), time.Now())
		if time.Until(dl) < max(backoff, after) {
			return false // the wait could outlast the request: its answer now
		}
	}
	return true
}

// Wait is how long to wait after the attempt-th attempt failed (1 = the
// first) with the answer's header h, at now.
func (p *RetryPolicy) Wait(attempt int, h http.Header, now time.Time) time.Duration {
	d, after := p.waits(attempt, h, now)
	if d > 0 {
		d = d/2 + rand.N(d/2+1) // jitter: the upper half
	}
	return max(d, after)
}

// waits is the backoff's ceiling for attempt (Base doubling, capped at
// Max) and the server's Retry-After (capped at MaxRetryAfter).
func (p *RetryPolicy) waits(attempt int, h http.Header, now time.Time) (backoff, after time.Duration) {
	backoff = p.Base << max(attempt-1, 0)
	if backoff > p.Max || backoff <= 0 {
		backoff = p.Max
	}
	return backoff, min(RetryAfter(h, now), p.MaxRetryAfter)
}

// RetryAfter is the wait a Retry-After header asks for at now (0 when
// there is none, it is malformed or it is past).
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(min(max(n, 0), 1<<30)) * time.Second // no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
