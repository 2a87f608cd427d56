package app

import (
	"context"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/settings"
)

// testGetCourse runs the connection test with the saved settings, or with
// override (the values an admin is entering before saving them).
func (a *App) testGetCourse(ctx context.Context, override *getcourse.Config) getcourse.Verdict {
	cfg := getcourse.Config{
		APIURL:  a.Settings.String(ctx, settings.GetCourseAPIURL),
		Account: a.Settings.String(ctx, settings.GetCourseAccount),
		Key:     a.Settings.String(ctx, settings.GetCourseAPIKey),
	}
	if override != nil {
		cfg = *override
	}
	if err := cfg.Validate(); err != nil {
		return getcourse.Verdict{Kind: getcourse.KindOf(err), Message: getcourse.Russian(err)}
	}
	return getcourse.New(cfg).TestConnection(ctx)
}
