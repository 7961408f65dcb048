package kube

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitTimeout bounds every wait for a watch to deliver a change.
const waitTimeout = 10 * time.Second

var testLabels = map[string]string{"gatehouse.dev/registration": "client"}

func certificatePEM(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// changes collects the maps that a SecretWatch passes to OnChange.
type changes struct {
	ch chan map[string]Secret
}

func newChanges() *changes {
	return &changes{ch: make(chan map[string]Secret, 1000)}
}

func (c *changes) onChange(secrets map[string]Secret) { c.ch <- secrets }

// waitFor returns the first delivered map for which match is true, and
// fails the test when none arrives in time.
func (c *changes) waitFor(t *testing.T, what string, match func(map[string]Secret) bool) map[string]Secret {
	t.Helper()
	timeout := time.After(waitTimeout)
	var last map[string]Secret
	for {
		select {
		case s := <-c.ch:
			if match(s) {
				return s
			}
			last = s
		case <-timeout:
			t.Fatalf("no change with %s within %v; last secrets: %v", what, waitTimeout, slices.Sorted(maps.Keys(last)))
			return nil
		}
	}
}

// names returns a match for a map with exactly the given Secret names.
func names(want ...string) func(map[string]Secret) bool {
	return func(s map[string]Secret) bool {
		return slices.Equal(slices.Sorted(maps.Keys(s)), slices.Sorted(slices.Values(want)))
	}
}

// startWatch runs a SecretWatch against api until the test ends.
func startWatch(t *testing.T, api *fakeAPI, configure func(*SecretWatch)) (*SecretWatch, *changes) {
	t.Helper()
	got := newChanges()
	w := &SecretWatch{
		Client:        api.client(t),
		Namespace:     api.namespace,
		LabelSelector: "gatehouse.dev/registration",
		WatchTimeout:  time.Minute,
		MinBackoff:    10 * time.Millisecond,
		MaxBackoff:    50 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
		OnChange:      got.onChange,
	}
	if configure != nil {
		configure(w)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %v of the cancellation", waitTimeout)
		}
	})
	return w, got
}

// waitForRequests polls until match accepts the requests api received.
func waitForRequests(t *testing.T, api *fakeAPI, what string, match func(lists, watches []url.Values) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if match(api.requests()) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	lists, watches := api.requests()
	t.Fatalf("no %s within %v; lists %v, watches %v", what, waitTimeout, lists, watches)
}

func TestSecretWatchDeliversChanges(t *testing.T) {
	api := newFakeAPI(t)
	api.put("a", testLabels, map[string]string{"clients.yaml": "one"})
	w, got := startWatch(t, api, nil)

	first := got.waitFor(t, "secret a", names("a"))
	want := Secret{
		Name: "a", Namespace: "gatehouse", UID: "uid-a", ResourceVersion: "2",
		Labels: testLabels, Data: map[string][]byte{"clients.yaml": []byte("one")},
	}
	if diff := cmp.Diff(want, first["a"]); diff != "" {
		t.Errorf("listed secret a mismatch (-want +got):\n%s", diff)
	}

	waitForRequests(t, api, "watch", func(_, watches []url.Values) bool { return len(watches) == 1 })
	if !w.Connected() {
		t.Error("Connected() = false with an open watch, want true")
	}
	api.put("b", testLabels, map[string]string{"clients.yaml": "two"})
	got.waitFor(t, "secrets a and b", names("a", "b"))
	api.put("a", testLabels, map[string]string{"clients.yaml": "three"})
	updated := got.waitFor(t, "new data of a", func(s map[string]Secret) bool { return string(s["a"].Data["clients.yaml"]) == "three" })
	if updated["a"].ResourceVersion != "4" {
		t.Errorf("resourceVersion of updated a = %q, want 4", updated["a"].ResourceVersion)
	}
	api.remove("b")
	got.waitFor(t, "secret b deleted", names("a"))

	lists, watches := api.requests()
	wantList := url.Values{"limit": {"100"}, "labelSelector": {"gatehouse.dev/registration"}}
	if diff := cmp.Diff(wantList, lists[0]); diff != "" {
		t.Errorf("list query mismatch (-want +got):\n%s", diff)
	}
	wantWatch := url.Values{
		"watch": {"1"}, "resourceVersion": {"2"}, "allowWatchBookmarks": {"true"},
		"timeoutSeconds": {"60"}, "labelSelector": {"gatehouse.dev/registration"},
	}
	if diff := cmp.Diff(wantWatch, watches[0]); diff != "" {
		t.Errorf("watch query mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretWatchContinuesFromLastResourceVersion(t *testing.T) {
	api := newFakeAPI(t)
	api.set(func(f *fakeAPI) { f.closeWatchAfter = 1 })
	_, got := startWatch(t, api, nil)
	got.waitFor(t, "the empty list", names())

	api.put("a", testLabels, nil) // resourceVersion 2
	got.waitFor(t, "secret a", names("a"))
	api.bookmark() // resourceVersion 3
	waitForRequests(t, api, "watch after the bookmark", func(_, watches []url.Values) bool { return len(watches) >= 3 })
	api.put("b", testLabels, nil) // resourceVersion 4
	got.waitFor(t, "secrets a and b", names("a", "b"))

	lists, watches := api.requests()
	if len(lists) != 1 {
		t.Errorf("got %d lists, want 1: a watch that the server ends continues without a list", len(lists))
	}
	var versions []string
	for _, q := range watches[:3] {
		versions = append(versions, q.Get("resourceVersion"))
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, versions); diff != "" {
		t.Errorf("resourceVersion of successive watches mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretWatchListsAgainOnGone(t *testing.T) {
	for _, tt := range []struct {
		name     string
		asStatus bool
	}{
		{name: "410 status", asStatus: true},
		{name: "ERROR event with code 410", asStatus: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.put("a", testLabels, nil)
			api.put("b", testLabels, nil)
			w, got := startWatch(t, api, nil)
			got.waitFor(t, "secrets a and b", names("a", "b"))
			waitForRequests(t, api, "watch", func(_, watches []url.Values) bool { return len(watches) == 1 })

			// Changes whose events the compaction drops reach the
			// watch only through a new list.
			api.set(func(f *fakeAPI) {
				delete(f.secrets, "b")
				f.rv++
			})
			api.compact(tt.asStatus)
			got.waitFor(t, "secret a alone after the new list", names("a"))

			lists, watches := api.requests()
			if len(lists) != 2 {
				t.Errorf("got %d lists, want 2", len(lists))
			}
			if len(watches) < 2 || watches[1].Get("resourceVersion") != "3" {
				t.Errorf("second watch query %v, want resourceVersion 3 (the last one seen)", watches[1:])
			}
			api.put("c", testLabels, nil)
			got.waitFor(t, "secret c after the new list", names("a", "c"))
			if !w.Connected() {
				t.Error("Connected() = false after the new watch started, want true")
			}
		})
	}
}

func TestSecretWatchRetriesFailedList(t *testing.T) {
	api := newFakeAPI(t)
	api.set(func(f *fakeAPI) { f.listFailures = 2 })
	api.put("a", testLabels, nil)
	_, got := startWatch(t, api, nil)
	got.waitFor(t, "secret a", names("a"))
	lists, _ := api.requests()
	if len(lists) != 3 {
		t.Errorf("got %d lists, want 3 (two failures, then success)", len(lists))
	}
}

func TestSecretWatchRetriesMalformedStream(t *testing.T) {
	api := newFakeAPI(t)
	api.set(func(f *fakeAPI) {
		f.rawWatchBody = []byte(`{"type":"ADDED","object":{"metadata":{"name":"x","resourceVersion":"9"`)
	})
	_, got := startWatch(t, api, nil)
	got.waitFor(t, "the empty list", names())
	waitForRequests(t, api, "second watch", func(_, watches []url.Values) bool { return len(watches) >= 2 })
	api.put("a", testLabels, nil)
	got.waitFor(t, "secret a", names("a"))

	_, watches := api.requests()
	if got := watches[1].Get("resourceVersion"); got != "1" {
		t.Errorf("watch after a truncated event from resourceVersion %q, want 1", got)
	}
}

func TestSecretWatchStopsOnCancel(t *testing.T) {
	api := newFakeAPI(t)
	got := newChanges()
	w := &SecretWatch{Client: api.client(t), Namespace: api.namespace, Logger: slog.New(slog.DiscardHandler), OnChange: got.onChange}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	got.waitFor(t, "the empty list", names())
	waitForRequests(t, api, "watch", func(_, watches []url.Values) bool { return len(watches) == 1 })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return within %v of the cancellation", waitTimeout)
	}
	if w.Connected() {
		t.Error("Connected() = true after Run returned, want false")
	}
}

func TestSecretWatchRequiresFields(t *testing.T) {
	err := (&SecretWatch{Namespace: "x"}).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "Client, Namespace and OnChange are required") {
		t.Errorf("Run without Client: got error %v, want the required fields named", err)
	}
}

func TestEventDecoderLimit(t *testing.T) {
	small := `{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}}` + "\n"
	large := `{"type":"ADDED","object":{"metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("A", 4096) + `"}}}` + "\n"
	dec := newEventDecoder(strings.NewReader(small+large), 1024)
	ev, err := dec.next()
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if ev.Type != eventBookmark {
		t.Errorf("first event type %q, want BOOKMARK", ev.Type)
	}
	if _, err := dec.next(); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("event of 4 KiB with a 1 KiB limit: got error %v, want ErrEventTooLarge", err)
	}
}

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		want    eventChange
		wantErr string
	}{
		{
			name:  "added",
			event: `{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"7"},"data":{"k":"dmFsdWU="}}}`,
			want:  eventChange{secret: Secret{Name: "a", ResourceVersion: "7", Data: map[string][]byte{"k": []byte("value")}}, resourceVersion: "7"},
		},
		{
			name:  "bookmark",
			event: `{"type":"BOOKMARK","object":{"kind":"Secret","metadata":{"resourceVersion":"12"}}}`,
			want:  eventChange{resourceVersion: "12"},
		},
		{
			name:    "error 410",
			event:   `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}}`,
			wantErr: "kubernetes API: 410 Expired: too old resource version: 1 (5)",
		},
		{
			name:    "secret without name",
			event:   `{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"7"}}}`,
			wantErr: "watch event MODIFIED: secret without metadata.name",
		},
		{
			name:    "data not base64",
			event:   `{"type":"ADDED","object":{"metadata":{"name":"a"},"data":{"k":"%%%"}}}`,
			wantErr: "watch event ADDED: illegal base64 data",
		},
		{
			name:    "unknown type",
			event:   `{"type":"SYNC","object":{}}`,
			wantErr: `watch event: unknown type "SYNC"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := newEventDecoder(strings.NewReader(tt.event), MaxWatchEventBytes).next()
			if err != nil {
				t.Fatalf("decode event: %v", err)
			}
			got, err := decodeEvent(ev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeEvent: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(eventChange{})); diff != "" {
				t.Errorf("decodeEvent mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsGone(t *testing.T) {
	ev := watchEvent{Type: eventError, Object: []byte(`{"kind":"Status","code":410,"reason":"Gone"}`)}
	_, err := decodeEvent(ev)
	if !IsGone(err) {
		t.Errorf("IsGone(%v) = false, want true", err)
	}
	if IsGone(&APIError{Code: 500}) {
		t.Error("IsGone(500) = true, want false")
	}
}

func TestBackoffGrowsAndResets(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 400*time.Millisecond)
	var ceilings []time.Duration
	for range 4 {
		d := b.next()
		if d > b.current || d < b.current*4/5 {
			t.Errorf("delay %v outside [%v, %v]", d, b.current*4/5, b.current)
		}
		ceilings = append(ceilings, b.current)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}
	if diff := cmp.Diff(want, ceilings); diff != "" {
		t.Errorf("back-off ceilings mismatch (-want +got):\n%s", diff)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("delay after reset %v, want at most 100ms", d)
	}
}

// FuzzWatchEvents feeds arbitrary WATCH response bodies to the event
// decoder and the informer that applies them.
func FuzzWatchEvents(f *testing.F) {
	f.Add([]byte(`{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2","labels":{"x":"y"}},"data":{"k":"dg=="}}}` + "\n" +
		`{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"3"}}}`))
	f.Add([]byte(`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}{"type":"MODIFIED","object":{"metadata":{"name":"b"}}}`))
	f.Add([]byte(`{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}`))
	f.Add([]byte(`{"type":"ADDED","object":null}`))
	f.Add([]byte(`[1,2,3] "x" {"type":5}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		inf := &informer{SecretWatch: &SecretWatch{OnChange: func(map[string]Secret) {}}, secrets: map[string]Secret{}}
		dec := newEventDecoder(bytes.NewReader(body), 1<<16)
		for range 1000 {
			ev, err := dec.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return
			}
			if err := inf.apply(ev); err != nil {
				return
			}
		}
		for name, s := range inf.secrets {
			if name == "" || name != s.Name {
				t.Fatalf("secret stored under %q has name %q", name, s.Name)
			}
		}
	})
}
