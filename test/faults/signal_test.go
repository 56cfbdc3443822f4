package faults

import "syscall"

var syscallTERM = syscall.SIGTERM
