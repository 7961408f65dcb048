package kube

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeAPI is an API server for the Secrets of one namespace that speaks
// the LIST and WATCH protocol of the Kubernetes API over TLS, with failures
// that a test can schedule. Its resourceVersions are increasing integers.
type fakeAPI struct {
	t         *testing.T
	server    *httptest.Server
	namespace string

	mu      sync.Mutex
	rv      int
	secrets map[string]map[string]any
	// history holds every event, oldest first.
	history []fakeEvent
	// changed is closed and replaced when an event is added.
	changed chan struct{}
	// compactedBelow makes a WATCH from an older resourceVersion fail with
	// 410 Gone, as an HTTP status when goneAsStatus is set and as an ERROR
	// event otherwise.
	compactedBelow int
	goneAsStatus   bool
	// listFailures is the number of LIST requests still to fail with 500.
	listFailures int
	// closeWatchAfter ends each WATCH after this many events when positive.
	closeWatchAfter int
	// rawWatchBody, when set, is the whole body of the next WATCH.
	rawWatchBody []byte
	// token is the bearer token every request must carry, if set.
	token string

	lists   []url.Values
	watches []url.Values
	auth    []string
}

type fakeEvent struct {
	rv   int
	body []byte
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, namespace: "gatehouse", rv: 1, secrets: map[string]map[string]any{}, changed: make(chan struct{})}
	f.server = httptest.NewTLSServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.server.Close)
	return f
}

// config returns a Config that trusts the server's certificate.
func (f *fakeAPI) config() *Config {
	return &Config{Server: f.server.URL, CAData: certificatePEM(f.server)}
}

func (f *fakeAPI) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(f.config())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// put adds or replaces a Secret and records the event.
func (f *fakeAPI) put(name string, labels map[string]string, data map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	encoded := map[string][]byte{}
	for k, v := range data {
		encoded[k] = []byte(v)
	}
	obj := map[string]any{
		"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
		"metadata": map[string]any{
			"name": name, "namespace": f.namespace, "uid": "uid-" + name,
			"resourceVersion": strconv.Itoa(f.rv), "labels": labels,
		},
		"data": encoded,
	}
	typ := eventModified
	if _, ok := f.secrets[name]; !ok {
		typ = eventAdded
	}
	f.secrets[name] = obj
	f.addEventLocked(typ, obj)
}

// remove deletes a Secret and records the event.
func (f *fakeAPI) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, ok := f.secrets[name]
	if !ok {
		f.t.Fatalf("fakeAPI: no secret %q to delete", name)
	}
	f.rv++
	delete(f.secrets, name)
	meta := obj["metadata"].(map[string]any)
	meta["resourceVersion"] = strconv.Itoa(f.rv)
	f.addEventLocked(eventDeleted, obj)
}

// bookmark advances the resourceVersion, as writes to Secrets outside the
// selector do, and records a BOOKMARK.
func (f *fakeAPI) bookmark() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	obj := map[string]any{"kind": "Secret", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": strconv.Itoa(f.rv)}}
	f.addEventLocked(eventBookmark, obj)
}

func (f *fakeAPI) addEventLocked(typ string, obj map[string]any) {
	body, err := json.Marshal(map[string]any{"type": typ, "object": obj})
	if err != nil {
		f.t.Fatalf("fakeAPI: encode event: %v", err)
	}
	f.history = append(f.history, fakeEvent{rv: f.rv, body: append(body, '\n')})
	close(f.changed)
	f.changed = make(chan struct{})
}

// compact advances the resourceVersion, as a write outside the selector
// does, and makes every WATCH from before it fail with 410 Gone. Open
// watches end, as the API server ends them when it drops their
// resourceVersion from its watch cache.
func (f *fakeAPI) compact(asStatus bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.compactedBelow = f.rv
	f.goneAsStatus = asStatus
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAPI) set(change func(f *fakeAPI)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeAPI) requests() (lists, watches []url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lists), slices.Clone(f.watches)
}

func (f *fakeAPI) serveHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	token := f.token
	f.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if r.URL.Path != "/api/v1/namespaces/"+f.namespace+"/secrets" {
		writeStatus(w, http.StatusNotFound, "NotFound", "no such path "+r.URL.Path)
		return
	}
	if r.URL.Query().Get("watch") == "1" {
		f.serveWatch(w, r)
		return
	}
	f.serveList(w, r)
}

func (f *fakeAPI) serveList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	f.lists = append(f.lists, q)

	if f.listFailures > 0 {
		f.listFailures--
		writeStatus(w, http.StatusInternalServerError, "InternalError", "etcd is unavailable")
		return
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range f.secrets {
			if !yield(name) {
				return
			}
		}
	})

	limit, _ := strconv.Atoi(q.Get("limit"))
	start, _ := strconv.Atoi(q.Get("continue"))
	end := len(names)
	if limit > 0 {
		end = min(start+limit, len(names))
	}

	items := []map[string]any{}
	for _, name := range names[start:end] {
		items = append(items, f.secrets[name])
	}
	meta := map[string]any{"resourceVersion": strconv.Itoa(f.rv)}
	if end < len(names) {
		meta["continue"] = strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"kind": "SecretList", "apiVersion": "v1", "metadata": meta, "items": items})
}

func (f *fakeAPI) serveWatch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := strconv.Atoi(q.Get("resourceVersion"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "resourceVersion is not a number")
		return
	}
	timeoutSeconds, _ := strconv.Atoi(q.Get("timeoutSeconds"))
	f.mu.Lock()
	f.watches = append(f.watches, q)
	raw := f.rawWatchBody
	f.rawWatchBody = nil
	gone, goneAsStatus := from < f.compactedBelow, f.goneAsStatus
	f.mu.Unlock()

	if gone && goneAsStatus {
		writeStatus(w, http.StatusGone, "Expired", "too old resource version")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	switch {
	case raw != nil:
		w.Write(raw)
	case gone:
		body, _ := json.Marshal(map[string]any{"type": eventError, "object": map[string]any{
			"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired", "message": "too old resource version",
		}})
		w.Write(append(body, '\n'))
	default:
		f.streamEvents(w, r, from, time.Duration(timeoutSeconds)*time.Second)
	}
}

// streamEvents writes the events after resourceVersion from until the
// timeout, the client leaves or a compaction.
func (f *fakeAPI) streamEvents(w http.ResponseWriter, r *http.Request, from int, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	sent := 0
	for {
		f.mu.Lock()
		var pending [][]byte
		for _, ev := range f.history {
			if ev.rv > from {
				pending = append(pending, ev.body)
				from = ev.rv
			}
		}
		changed, closeAfter := f.changed, f.closeWatchAfter
		compacted := from < f.compactedBelow
		f.mu.Unlock()
		for _, body := range pending {
			w.Write(body)
			sent++
			if closeAfter > 0 && sent >= closeAfter {
				w.(http.Flusher).Flush()
				return
			}
		}
		w.(http.Flusher).Flush()
		if compacted {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	body, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
