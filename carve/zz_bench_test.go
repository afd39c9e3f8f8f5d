package carve
import ("fmt";"os";"runtime";"syscall";"testing";"time";"sort")
func cpu() time.Duration { var r syscall.Rusage; syscall.Getrusage(syscall.RUSAGE_THREAD, &r); return time.Duration(r.Utime.Nano()+r.Stime.Nano()) }
func TestFindZZ(t *testing.T) {
	runtime.LockOSThread()
	s, _ := NewScanner(nil)
	data, _ := os.ReadFile(os.Getenv("HOME")+"/.cache/remnant-bench/corpus-1073741824.bin")
	data = data[:256<<20]
	var cnt [256]int
	for _, c := range data[:64<<20] { cnt[c]++ }
	type bc struct{ b byte; n int }
	var l []bc
	tot := 0
	for b := 0; b < 256; b++ { if s.m.trig[b] != 0 { l = append(l, bc{byte(b), cnt[b]}); tot += cnt[b] } }
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n })
	fmt.Printf("trigger density %.2f%%:", 100*float64(tot)/float64(64<<20))
	for _, x := range l { fmt.Printf(" %q", x.b) }
	fmt.Println()
	var hits []hit
	best := 0.0
	for k := 0; k < 5; k++ {
		c0 := cpu()
		hits = s.m.find(data, 0, len(data), hits[:0])
		d := cpu() - c0
		best = max(best, float64(len(data))/d.Seconds()/1e9)
	}
	fmt.Printf("find: best %.2f GB/s per CPU second, %d hits\n", best, len(hits))
}
