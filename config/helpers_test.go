package config_test

import (
	"fmt"

	"github.com/hazardsync/hazardsync/config"
)

func fmtAll(c config.Config) string { return fmt.Sprintf("%v %+v %#v", c, c, c.GeoSight) }
