package app

import "booksmeta/internal/gcsync"

// newGetCourse builds the GetCourse service (connection test, call log,
// export budget, scheduled sync, student push); registerJobs registers its jobs.
func (a *App) newGetCourse() *gcsync.Service {
	s := gcsync.New(a.Store, a.Settings, a.Log)
	// The sync's events are processed by the same job as webhook events; the
	// CLI, which runs no workers, applies them through the processor.
	s.Processor = a.Processor
	s.Notify = a.Jobs.Notify
	return s
}
