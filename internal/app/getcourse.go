package app

import "booksmeta/internal/gcsync"

// initGetCourse builds the GetCourse service (connection test, call log,
// export budget, scheduled sync, student push) and registers its jobs and
// settings.
func (a *App) initGetCourse() {
	gcsync.DefineSettings(a.Settings)
	s := gcsync.New(a.Store, a.Settings, a.Log)
	// The sync's events are processed by the same job as webhook events; the
	// CLI, which runs no workers, applies them through the processor.
	s.Processor = a.Processor
	s.Notify = a.Jobs.Notify
	s.Register(a.Jobs)
	a.GetCourse = s
}
