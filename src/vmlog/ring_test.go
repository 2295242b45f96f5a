package vmlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func ringFiles(t *testing.T) Files {
	dir := t.TempDir()
	return Files{Current: filepath.Join(dir, "out.log"), Previous: filepath.Join(dir, "out.log.1")}
}

func diskBytes(t *testing.T, f Files) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{f.Current, f.Previous} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// numbered makes recognisable lines: "line 000017\n".
func numbered(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %06d\n", i)
	}
	return b.Bytes()
}

func TestRingNeverExceedsCapAndKeepsTheNewestBytesInOrder(t *testing.T) {
	files := ringFiles(t)
	const capBytes = 1000
	w, err := Create(files, capBytes)
	if err != nil {
		t.Fatal(err)
	}
	all := numbered(0, 500) // 6000 bytes, written in uneven pieces
	for off, step := 0, 1; off < len(all); step = step%97 + 13 {
		end := min(off+step, len(all))
		if _, err := w.Write(all[off:end]); err != nil {
			t.Fatal(err)
		}
		if n := diskBytes(t, files); n > capBytes {
			t.Fatalf("after %d bytes the ring holds %d > cap %d", end, n, capBytes)
		}
		off = end
	}
	w.Close()
	got, err := ReadAll(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < capBytes/2 || len(got) > capBytes {
		t.Fatalf("kept %d bytes, want between half the cap and the cap", len(got))
	}
	if !bytes.HasSuffix(all, got) {
		t.Fatalf("the ring is not the stream's tail:\n%q", got)
	}
}

func TestRingWriteLargerThanCapKeepsItsEnd(t *testing.T) {
	files := ringFiles(t)
	w, err := Create(files, 100)
	if err != nil {
		t.Fatal(err)
	}
	all := numbered(0, 50)
	if n, err := w.Write(all); err != nil || n != len(all) {
		t.Fatalf("wrote %d, %v", n, err)
	}
	got, _ := ReadAll(files)
	if !bytes.HasSuffix(all, got) || len(got) != 100 {
		t.Fatalf("got %d bytes %q", len(got), got)
	}
}

func TestCreateDiscardsAnOldRingAndRefusesTinyCaps(t *testing.T) {
	files := ringFiles(t)
	os.WriteFile(files.Previous, []byte("old\n"), 0o600)
	os.WriteFile(files.Current, []byte("older\n"), 0o600)
	w, err := Create(files, 64)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("new\n"))
	if got, _ := ReadAll(files); string(got) != "new\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := Create(files, 1); err == nil {
		t.Fatal("a cap of 1 byte was accepted")
	}
}

func TestReadAllOfAMissingRingIsEmpty(t *testing.T) {
	got, err := ReadAll(ringFiles(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestFollowAcrossRotations reads while the writer rotates many times: the reader, kept up
// with the writer, sees every byte exactly once and in order.
func TestFollowAcrossRotations(t *testing.T) {
	files := ringFiles(t)
	w, err := Create(files, 200)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(files)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got bytes.Buffer
	all := numbered(0, 300)
	for off := 0; off < len(all); off += 37 {
		w.Write(all[off:min(off+37, len(all))])
		if _, err := io.Copy(&got, r); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), all) {
		t.Fatalf("followed %d bytes, wrote %d; first difference at %d", got.Len(), len(all), firstDiff(got.Bytes(), all))
	}
}

// TestReaderCatchesUpWithAFileItMissed: two rotations between reads; the reader still gets
// the file that came and went (now Previous) before the new Current.
func TestReaderCatchesUpWithAFileItMissed(t *testing.T) {
	files := ringFiles(t)
	w, _ := Create(files, 40) // 20 bytes a file
	r, _ := Open(files)
	defer r.Close()
	w.Write([]byte("aaaaaaaaaaaaaaaaaaa\n")) // fills Current
	first, _ := io.ReadAll(r)
	w.Write([]byte("bbbbbbbbbbbbbbbbbbb\n")) // rotation 1: a -> Previous
	w.Write([]byte("ccccc\n"))               // rotation 2: b -> Previous, a gone
	rest, _ := io.ReadAll(r)
	if got := string(first) + string(rest); got != "aaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbb\nccccc\n" {
		t.Fatalf("got %q", got)
	}
}

func TestOpenEndSkipsWhatIsThere(t *testing.T) {
	files := ringFiles(t)
	w, _ := Create(files, 1000)
	w.Write([]byte("before\n"))
	r, err := OpenEnd(files)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w.Write([]byte("after\n"))
	if got, _ := io.ReadAll(r); string(got) != "after\n" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitWakesOnWriteAndRotationAndEndsWithContext(t *testing.T) {
	files := ringFiles(t)
	w, _ := Create(files, 40) // the three writes rotate once and all stay on disk
	r, _ := Open(files)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil { // sets the watch up
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		var got bytes.Buffer
		for {
			if _, err := io.Copy(&got, r); err != nil || got.Len() >= 30 {
				break
			}
			if err := r.Wait(ctx); err != nil {
				break
			}
		}
		done <- got.Bytes()
	}()
	w.Write([]byte("0123456789"))
	w.Write([]byte("abcdefghij"))
	w.Write([]byte("ABCDEFGHIJ")) // rotates
	select {
	case got := <-done:
		if string(got) != "0123456789abcdefghijABCDEFGHIJ" {
			t.Fatalf("got %q", got)
		}
	case <-ctx.Done():
		t.Fatal("the follower did not see the writes")
	}
	quiet, _ := Open(files) // a reader with no events queued
	defer quiet.Close()
	quiet.Wait(ctx)
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := quiet.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait without writes returned %v", err)
	}
}

func TestWaitIgnoresOtherFilesInTheDirectory(t *testing.T) {
	files := ringFiles(t)
	Create(files, 100)
	r, _ := Open(files)
	defer r.Close()
	bg := context.Background()
	r.Wait(bg)
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	os.WriteFile(filepath.Join(filepath.Dir(files.Current), "neighbour.log"), []byte("x"), 0o600)
	if err := r.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a neighbour's write woke the reader: %v", err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestWaitPollsWhenInotifyIsUnavailable(t *testing.T) {
	files := ringFiles(t)
	w, _ := Create(files, 100)
	r, _ := Open(files)
	defer r.Close()
	r.poll = true // as when fs.inotify.max_user_instances is used up
	w.Write([]byte("x"))
	start := time.Now()
	if err := r.Wait(context.Background()); err != nil || time.Since(start) < PollInterval/2 {
		t.Fatalf("poll wait: %v after %v", err, time.Since(start))
	}
	if got, _ := io.ReadAll(r); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
