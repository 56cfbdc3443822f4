//go:build !linux

package grid

func adviseHugePages([]byte) {}
