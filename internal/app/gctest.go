package app

import (
	"context"

	"booksmeta/internal/getcourse"
)

// testGetCourse runs the connection test with the saved settings, or with
// override (the values an admin is entering before saving them), through
// the GetCourse service so that the call is recorded and counted against
// the shared API budget like every other call.
func (a *App) testGetCourse(ctx context.Context, override *getcourse.Config) getcourse.Verdict {
	return a.GetCourse.TestConnection(ctx, override)
}
