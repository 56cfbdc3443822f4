package all

import _ "github.com/hazardsync/hazardsync/adapter/sources/ecmwf"
