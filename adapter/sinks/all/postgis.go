package all

import _ "github.com/hazardsync/hazardsync/adapter/sinks/postgis"
