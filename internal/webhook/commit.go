package webhook

import (
	"booksmeta"

	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"

	"booksmeta/internal/store"
)

// Committer stores accepted events with group commit: requests that arrive
// while a transaction is committing wait and go together into the next one,
// so one fsync serves many 200s. Nothing is answered before its transaction
// has committed; there is no timer and no artificial delay — under light
// load every batch holds one event, under heavy load batches grow by
// themselves.
type Committer struct {
	store *store.Store
	in    chan *pending
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	// busy counts requests queued or in the transaction being committed.
	busy atomic.Int64
	// MaxBatch bounds one transaction, so one slow batch does not hold
	// hundreds of requests.
	MaxBatch int
}

type pending struct {
	rec  *booksmeta.WebhookEvent
	base string // the idempotency key before sequenceKey
	dup  bool
	err  error
	done chan struct{}
}

// ErrStopped is returned after Close: the server is shutting down.
var ErrStopped = errors.New("webhook committer stopped")

// NewCommitter starts a committer; Close stops it.
func NewCommitter(s *store.Store) *Committer {
	c := &Committer{store: s, in: make(chan *pending, 1024), stop: make(chan struct{}), done: make(chan struct{}), MaxBatch: 256}
	go c.loop()
	return c
}

// Commit stores rec as an accepted event (or records it as a duplicate of
// the event holding its idempotency key) and returns once that is committed.
// On return rec.ID is the event's id (the original's for a duplicate).
func (c *Committer) Commit(ctx context.Context, rec *booksmeta.WebhookEvent) (dup bool, err error) {
	p := &pending{rec: rec, done: make(chan struct{})}
	c.busy.Add(1)
	defer c.busy.Add(-1)
	select {
	case c.in <- p:
	case <-c.stop:
		return false, ErrStopped
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once queued, the outcome is awaited even if the sender goes away:
	// answering is then moot, but the event may already be durable.
	<-p.done
	return p.dup, p.err
}

// Busy reports whether requests are waiting for a commit.
func (c *Committer) Busy() bool { return c.busy.Load() > 0 }

// Close stops accepting, commits what is queued, and returns.
func (c *Committer) Close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

func (c *Committer) loop() {
	defer close(c.done)
	for {
		var first *pending
		select {
		case first = <-c.in:
		case <-c.stop:
			for {
				select {
				case p := <-c.in:
					c.commit([]*pending{p})
				default:
					return
				}
			}
		}
		batch := []*pending{first}
	drain:
		for len(batch) < c.MaxBatch {
			select {
			case p := <-c.in:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		c.commit(batch)
	}
}

func (c *Committer) commit(batch []*pending) {
	ctx := context.Background()
	err := c.store.InTx(ctx, func(tx *store.Tx) error { return insertEvents(ctx, tx, batch) })
	if err != nil && len(batch) > 1 {
		// Isolate the failure: one bad event must not fail its neighbours.
		for _, p := range batch {
			c.commit([]*pending{p})
		}
		return
	}
	for _, p := range batch {
		if err != nil {
			p.dup, p.err = false, err
		}
		close(p.done)
	}
}

// insertEvents is the whole write of a group of accepted requests: each
// event (or a duplicate's log row), and one job that processes the new ones.
func insertEvents(ctx context.Context, tx *store.Tx, batch []*pending) error {
	ids := make([]int64, 0, len(batch))
	for _, p := range batch {
		if err := insertEvent(ctx, tx, p); err != nil {
			return err
		}
		if !p.dup {
			ids = append(ids, p.rec.ID)
		}
	}
	return enqueueProcessing(ctx, tx, ids)
}

// insertEvent writes one accepted request: the event, or a duplicate's log
// row pointing at the original.
func insertEvent(ctx context.Context, tx *store.Tx, p *pending) error {
	rec := p.rec
	if err := sequenceKey(ctx, tx, p); err != nil {
		return err
	}
	inserted, err := tx.InsertAcceptedWebhook(ctx, rec)
	if err != nil {
		return err
	}
	if inserted {
		p.dup = false
		return nil
	}
	orig, err := tx.WebhookByKey(ctx, rec.IdempotencyKey)
	if err != nil {
		return err
	}
	d := *rec
	d.Outcome, d.DuplicateOf, d.State = booksmeta.OutcomeDuplicate, orig.ID, ""
	d.Reason = "Повтор уже принятого события #" + orig.PublicID() + ": обработано один раз."
	if err := tx.InsertWebhookLog(ctx, &d); err != nil {
		return err
	}
	p.dup, rec.ID = true, orig.ID
	return nil
}

// sequenceKey appends the first head's sequence number to the idempotency
// key (see eventKey) and moves every head to this event's state, in the
// transaction that inserts the event, so key and heads commit or roll back
// together. The base key is kept on p, because a failed batch is retried
// one event at a time.
func sequenceKey(ctx context.Context, tx *store.Tx, p *pending) error {
	if p.base == "" {
		p.base = p.rec.IdempotencyKey
	}
	p.rec.IdempotencyKey = p.base
	for i, h := range p.rec.Heads {
		seq, err := tx.AdvanceHead(ctx, h)
		if err != nil {
			return err
		}
		if i == 0 {
			p.rec.IdempotencyKey = bounded(p.base + "#" + strconv.FormatInt(seq, 10))
		}
	}
	return nil
}
