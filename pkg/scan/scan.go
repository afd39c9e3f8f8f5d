// Package scan reads a view of evidence in chunks, hands each chunk to one of
// several workers and delivers the workers' results in offset order. Strings
// and carvers are built on it.
//
// Each data range of the view is cut into chunks of Options.ChunkSize bytes
// (the body). A chunk also carries up to Options.Lookbehind bytes before its
// body and up to Options.Overlap bytes after it, never crossing the edges of
// its data range, so that a worker can decide whether a match that touches
// the body's edges starts in this chunk and can finish a match that runs past
// the body's end. A match must be reported by the chunk whose body holds its
// first byte; then every match is found exactly once. Data ranges are scanned
// independently: a match never spans two ranges (a producer that wants
// adjacent ranges joined merges them in the view).
//
// Memory is bounded by Workers × (Lookbehind + ChunkSize + Overlap) for read
// buffers plus at most Options.InFlight results waiting for delivery, whatever
// the size of the view. A view whose reader is a Slicer (a Mapping from Map)
// is not copied at all: chunks are slices of it.
package scan

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"golang.org/x/sync/errgroup"

	"github.com/remnant-forensics/remnant/pkg/addrspace"
)

// Defaults for Options fields left zero.
const (
	DefaultChunkSize = 4 << 20
	DefaultOverlap   = 4 << 10
)

// Options tune a scan. The zero value is usable.
type Options struct {
	// ChunkSize is the number of bytes of a chunk's body
	// (DefaultChunkSize when 0).
	ChunkSize int
	// Lookbehind is the number of bytes read before a chunk's body (0 is
	// allowed and means none).
	Lookbehind int
	// Overlap is the number of bytes read after a chunk's body (0 is allowed
	// and means none; DefaultOverlap is a good choice for variable-length
	// matches).
	Overlap int
	// Workers is the number of goroutines that scan chunks
	// (runtime.GOMAXPROCS(0) when 0).
	Workers int
	// InFlight bounds the chunks handed out but not yet delivered
	// (2 × Workers when 0, at least Workers).
	InFlight int
	// Progress, when set, is called after each chunk is delivered with the
	// number of body bytes delivered so far and the total. It is called
	// from the goroutine that called Scan.
	Progress func(done, total uint64)
}

// Chunk is a piece of the view given to a worker. Data and the chunk itself
// are reused once the work function returns: copy what must outlive it, and
// never write to Data (it may be a read-only mapping of the evidence).
type Chunk struct {
	// Seq numbers chunks in offset order from 0.
	Seq int
	// Range is the data range of the view that holds the chunk.
	Range addrspace.Range
	// Off is the view offset of Data[0].
	Off uint64
	// Data holds the lookbehind Data[:Lo], the body Data[Lo:Hi] and the
	// lookahead Data[Hi:]. Pages that could not be read are zero-filled.
	Data []byte
	// Lo and Hi delimit the body in Data.
	Lo, Hi int
	// Err reports pages of the body that could not be read (they are
	// zero-filled in Data). Failures outside the body are zero-filled
	// silently: the chunk whose body holds them reports them. The work
	// function decides what to do (typically: scan Data and warn).
	Err error
}

// BodyOff returns the view offset of the first byte of the body.
func (c *Chunk) BodyOff() uint64 { return c.Off + uint64(c.Lo) }

// AtRangeStart reports whether Data begins at the start of the data range.
func (c *Chunk) AtRangeStart() bool { return c.Off == c.Range.Start }

// AtRangeEnd reports whether Data ends at the end of the data range (no more
// bytes follow in this range).
func (c *Chunk) AtRangeEnd() bool {
	return c.Off+uint64(len(c.Data)) == c.Range.End()
}

// ReadMore reads bytes of the chunk's data range after Data, starting at
// view offset off, into p. It returns the number of bytes read, which is
// less than len(p) only at the end of the range (err nil) or on a read error.
// It lets a worker finish a match that runs past the lookahead.
func (c *Chunk) ReadMore(r io.ReaderAt, p []byte, off uint64) (int, error) {
	end := c.Range.End()
	if off >= end {
		return 0, nil
	}
	if uint64(len(p)) > end-off {
		p = p[:end-off]
	}
	n, err := r.ReadAt(p, int64(off))
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("reading %d bytes at offset 0x%x: %w", len(p), off, err)
}

// Ranges returns the data ranges of v clipped to [0, v.Size), in ascending
// order, without empty or overlapping parts. Ranges from the evidence may be
// hostile; this is what Scan reads.
func Ranges(v addrspace.View) []addrspace.Range {
	size := uint64(0)
	if v.Size > 0 {
		size = uint64(v.Size)
	}
	out := make([]addrspace.Range, 0, len(v.Data))
	var next uint64 // first offset not yet covered
	for _, r := range v.Data {
		start, end := r.Start, r.End()
		if end > size {
			end = size
		}
		if start < next {
			start = next
		}
		if start >= end {
			continue
		}
		out = append(out, addrspace.Range{Start: start, Size: end - start})
		next = end
	}
	return out
}

// Total returns the number of bytes Scan would read as chunk bodies.
func Total(v addrspace.View) uint64 {
	var t uint64
	for _, r := range Ranges(v) {
		t += r.Size
	}
	return t
}

type job struct {
	seq        int
	rng        addrspace.Range
	start, end uint64 // body
}

type result[R any] struct {
	seq   int
	start uint64 // of the body
	body  uint64
	r     R
}

// Scan reads the data ranges of v in chunks, calls work for each chunk on
// one of opt.Workers goroutines, and calls deliver with each chunk's result
// in offset order, from the calling goroutine. The first error returned by
// work or deliver, or the cancellation of ctx, stops the scan and is
// returned. Read errors do not stop the scan: they reach work in Chunk.Err.
//
// A result may be reused by the caller once deliver has returned (results
// are typically pooled buffers).
func Scan[R any](parent context.Context, v addrspace.View, opt Options,
	work func(ctx context.Context, c *Chunk) (R, error),
	deliver func(R) error) error {

	chunkSize := opt.ChunkSize
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	lookbehind, overlap := max(opt.Lookbehind, 0), max(opt.Overlap, 0)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inflight := opt.InFlight
	if inflight <= 0 {
		inflight = 2 * workers
	}
	inflight = max(inflight, workers)

	ranges := Ranges(v)
	var total uint64
	for _, r := range ranges {
		total += r.Size
	}
	if total == 0 {
		return parent.Err()
	}

	var nchunks int
	for _, r := range ranges {
		nchunks += int((r.Size + uint64(chunkSize) - 1) / uint64(chunkSize))
	}

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan job)
	// At most inflight chunks are handed out and not yet delivered (tokens),
	// so sends on results never block.
	results := make(chan result[R], inflight)
	tokens := make(chan struct{}, inflight)

	// Producer: cut ranges into chunks lazily.
	g.Go(func() error {
		defer close(jobs)
		seq := 0
		for _, r := range ranges {
			for s := r.Start; s < r.End(); {
				e := s + uint64(chunkSize)
				if e > r.End() || e < s {
					e = r.End()
				}
				select {
				case tokens <- struct{}{}:
				case <-gctx.Done():
					return nil
				}
				select {
				case jobs <- job{seq: seq, rng: r, start: s, end: e}:
				case <-gctx.Done():
					return nil
				}
				seq++
				s = e
			}
		}
		return nil
	})

	slicer, _ := v.R.(Slicer)
	pop, _ := v.R.(populater)
	for range workers {
		g.Go(func() error {
			if slicer != nil {
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			}
			var buf []byte
			for j := range jobs {
				if gctx.Err() != nil {
					return nil
				}
				var c Chunk
				if slicer != nil {
					c = sliceChunk(slicer, j, lookbehind, overlap)
					if pop != nil && c.Data != nil {
						pop.populate(int64(c.Off), len(c.Data))
					}
				}
				if c.Data == nil {
					if buf == nil {
						buf = make([]byte, 0, lookbehind+chunkSize+overlap)
					}
					c = readChunk(v.R, j, buf, lookbehind, overlap)
				}
				r, err := safeWork(gctx, &c, work)
				if err != nil {
					return err
				}
				results <- result[R]{seq: j.seq, start: j.start, body: j.end - j.start, r: r}
			}
			return nil
		})
	}

	// Deliver in order from this goroutine. Delivered bodies of a mapping
	// are dropped from memory in batches (each drop interrupts the other
	// CPUs to flush their TLBs).
	rel, _ := v.R.(releaser)
	if slicer == nil {
		rel = nil
	}
	var relFrom, relTo uint64
	flush := func() {
		if rel != nil && relTo > relFrom {
			rel.release(int64(relFrom), int(relTo-relFrom))
		}
		relFrom, relTo = 0, 0
	}
	defer flush()
	pending := make(map[int]result[R], inflight)
	var delivered uint64
	var derr error
	for next := 0; next < nchunks && derr == nil; {
		select {
		case res := <-results:
			pending[res.seq] = res
		case <-gctx.Done():
		}
		if gctx.Err() != nil {
			break
		}
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if derr = deliver(p.r); derr != nil {
				break
			}
			<-tokens
			if rel != nil {
				if p.start != relTo {
					flush()
					relFrom = p.start
				}
				relTo = p.start + p.body
				if relTo-relFrom >= releaseBatch {
					flush()
				}
			}
			delivered += p.body
			if opt.Progress != nil {
				opt.Progress(delivered, total)
			}
		}
	}
	cancel()
	werr := g.Wait()
	switch {
	case derr != nil:
		return derr
	case werr != nil:
		return werr
	}
	return parent.Err()
}

// safeWork calls work, turning a memory fault on a mapped file (one that
// shrank during the scan) into an error.
func safeWork[R any](ctx context.Context, c *Chunk, work func(context.Context, *Chunk) (R, error)) (r R, err error) {
	defer func() {
		if x := recover(); x != nil {
			if _, ok := x.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("chunk at offset 0x%x: memory fault reading the mapped evidence (did the file shrink?): %v", c.BodyOff(), x)
				return
			}
			panic(x)
		}
	}()
	return work(ctx, c)
}

// sliceChunk hands out the job's bytes from memory, or a chunk without Data
// when the slicer does not hold them all.
func sliceChunk(s Slicer, j job, lookbehind, overlap int) Chunk {
	lo := min(j.start-j.rng.Start, uint64(lookbehind))
	hi := min(j.rng.End()-j.end, uint64(overlap))
	from := j.start - lo
	n := lo + (j.end - j.start) + hi
	b := s.Slice(int64(from), int(n))
	if b == nil {
		return Chunk{}
	}
	return Chunk{Seq: j.seq, Range: j.rng, Off: from, Data: b, Lo: int(lo), Hi: int(lo + (j.end - j.start))}
}

// readChunk reads the job's lookbehind, body and lookahead into buf. Parts
// that cannot be read are retried page by page and the pages that still fail
// are zero-filled, so that one bad page costs one page; Err reports failures
// inside the body only (the chunk that owns a page reports it).
func readChunk(r io.ReaderAt, j job, buf []byte, lookbehind, overlap int) Chunk {
	lo := min(j.start-j.rng.Start, uint64(lookbehind))
	hi := min(j.rng.End()-j.end, uint64(overlap))
	from := j.start - lo
	n := int(lo + (j.end - j.start) + hi)
	buf = buf[:n]
	c := Chunk{Seq: j.seq, Range: j.rng, Off: from, Data: buf, Lo: int(lo), Hi: int(lo + (j.end - j.start))}
	m, _ := r.ReadAt(buf, int64(from))
	if m >= n {
		return c
	}
	m = max(m, 0)
	bad := 0
	var first error
	for p := m; p < n; {
		q := min(int((from+uint64(p)+PageSize)&^(PageSize-1)-from), n)
		k, err := r.ReadAt(buf[p:q], int64(from)+int64(p))
		if k < q-p {
			clear(buf[p+max(k, 0) : q])
			if p+k < c.Hi && q > c.Lo {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				if bad == 0 {
					first = fmt.Errorf("reading offset 0x%x: %w", from+uint64(p+max(k, 0)), err)
				}
				bad++
			}
		}
		p = q
	}
	if bad == 1 {
		c.Err = first
	} else if bad > 1 {
		c.Err = fmt.Errorf("%w (and %d more unreadable pages up to offset 0x%x, zero-filled)", first, bad-1, j.end)
	}
	return c
}

// releaseBatch is how many delivered bytes of a mapping are dropped from
// memory at once.
const releaseBatch = 32 << 20

// PageSize is the granularity at which unreadable parts are zero-filled.
const PageSize = 4096
