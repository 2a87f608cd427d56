// Command booksmeta is Book Smeta: GetCourse webhooks in, server-time
// bookings out. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"booksmeta/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, &cli.Env{Args: os.Args[1:], Program: os.Args[0], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
