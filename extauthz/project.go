package extauthz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of the CheckRequest parts the check reads
// (envoy/service/auth/v3/external_auth.proto and attribute_context.proto,
// envoy/config/core/v3/base.proto).
const (
	fieldCheckRequestAttributes = 1
	fieldAttributesRequest      = 4
	fieldAttributesContextExt   = 10
	fieldRequestHTTP            = 2
	fieldHTTPMethod             = 2
	fieldHTTPHeaders            = 3
	fieldHTTPPath               = 4
	fieldHTTPHost               = 5
	fieldHTTPHeaderMap          = 13
	fieldHeaderMapHeaders       = 1
	fieldHeaderValueKey         = 1
	fieldHeaderValueValue       = 2
	fieldHeaderValueRawValue    = 3
	fieldMapEntryKey            = 1
	fieldMapEntryValue          = 2
)

// errInvalidWire reports bytes that are not a valid protobuf encoding.
var errInvalidWire = errors.New("invalid protobuf wire format")

// projectCheckRequest decodes the wire form of a CheckRequest into req,
// keeping only what the check reads: the method, host and path, the
// ScopesExtension context extension, and the headers for which
// keepHeader is true. Everything else, such as the peers, the time and the
// other headers, is skipped without being decoded, which is most of the
// cost of a full proto.Unmarshal.
//
// Repeated occurrences follow protobuf's rules: a later scalar replaces an
// earlier one, messages merge, and map entries with the same key replace
// each other. Unlike proto.Unmarshal, it does not check that skipped
// strings are valid UTF-8.
func projectCheckRequest(data []byte, req *authv3.CheckRequest) error {
	proto.Reset(req)
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		if num != fieldCheckRequestAttributes {
			continue
		}
		if req.Attributes == nil {
			req.Attributes = &authv3.AttributeContext{}
		}
		if err := projectAttributes(v, req.Attributes); err != nil {
			return err
		}
	}
	return r.err
}

func projectAttributes(data []byte, a *authv3.AttributeContext) error {
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		switch num {
		case fieldAttributesRequest:
			if a.Request == nil {
				a.Request = &authv3.AttributeContext_Request{}
			}
			if err := projectRequest(v, a.Request); err != nil {
				return err
			}
		case fieldAttributesContextExt:
			key, value, err := mapEntry(v)
			if err != nil {
				return err
			}
			if view(key) != ScopesExtension {
				continue
			}
			if a.ContextExtensions == nil {
				a.ContextExtensions = make(map[string]string, 1)
			}
			a.ContextExtensions[ScopesExtension] = string(value)
		}
	}
	return r.err
}

func projectRequest(data []byte, req *authv3.AttributeContext_Request) error {
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		if num != fieldRequestHTTP {
			continue
		}
		if req.Http == nil {
			req.Http = &authv3.AttributeContext_HttpRequest{}
		}
		if err := projectHTTP(v, req.Http); err != nil {
			return err
		}
	}
	return r.err
}

func projectHTTP(data []byte, h *authv3.AttributeContext_HttpRequest) error {
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		var err error
		switch num {
		case fieldHTTPMethod:
			h.Method = string(v)
		case fieldHTTPPath:
			h.Path = string(v)
		case fieldHTTPHost:
			h.Host = string(v)
		case fieldHTTPHeaders:
			err = projectHeaderEntry(v, h)
		case fieldHTTPHeaderMap:
			if h.HeaderMap == nil {
				h.HeaderMap = &corev3.HeaderMap{}
			}
			err = projectHeaderMap(v, h.HeaderMap)
		}
		if err != nil {
			return err
		}
	}
	return r.err
}

func projectHeaderEntry(data []byte, h *authv3.AttributeContext_HttpRequest) error {
	key, value, err := mapEntry(data)
	if err != nil || !keepHeader(view(key)) {
		return err
	}
	if h.Headers == nil {
		h.Headers = make(map[string]string, 4)
	}
	h.Headers[string(key)] = string(value)
	return nil
}

func projectHeaderMap(data []byte, hm *corev3.HeaderMap) error {
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		if num != fieldHeaderMapHeaders {
			continue
		}
		hv, keep, err := projectHeaderValue(v)
		if err != nil {
			return err
		}
		// A dropped entry still counts as present for protobuf, but the
		// check never reads it, so it is left out.
		if keep {
			hm.Headers = append(hm.Headers, hv)
		}
	}
	return r.err
}

func projectHeaderValue(data []byte) (*corev3.HeaderValue, bool, error) {
	var key, value, raw []byte
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		switch num {
		case fieldHeaderValueKey:
			key = v
		case fieldHeaderValueValue:
			value = v
		case fieldHeaderValueRawValue:
			raw = v
		}
	}
	if r.err != nil || !keepHeader(view(key)) {
		return nil, false, r.err
	}
	hv := &corev3.HeaderValue{Key: string(key), Value: string(value)}
	if len(raw) > 0 {
		hv.RawValue = append([]byte(nil), raw...)
	}
	return hv, true, nil
}

// keepHeader reports whether a check may read a header: the credential,
// the pseudo-headers that name the request, and the identity headers that a
// client may have spoofed, for every Server in the process.
func keepHeader(name string) bool {
	switch name {
	case ":authority", ":method", ":path":
		return true
	}
	if strings.EqualFold(name, "authorization") || strings.EqualFold(name, "host") || hasIdentityPrefix(name) {
		return true
	}
	for _, n := range *customIdentityNames.Load() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// customIdentityNames are the configured identity header names without the
// "x-auth-" prefix of every Server created in the process. The codec is not
// tied to one Server, so it keeps the union of their headers.
var customIdentityNames atomic.Pointer[[]string]

func init() { customIdentityNames.Store(new([]string)) }

// registerIdentityNames adds the names that keepHeader would otherwise drop.
func registerIdentityNames(names []string) {
	for {
		old := customIdentityNames.Load()
		next := slices.Clone(*old)
		for _, n := range names {
			if !hasIdentityPrefix(n) && !slices.Contains(next, n) {
				next = append(next, n)
			}
		}
		if len(next) == len(*old) || customIdentityNames.CompareAndSwap(old, &next) {
			return
		}
	}
}

// mapEntry decodes a map<string, string> entry. A missing key or value is
// the empty string, as in protobuf.
func mapEntry(data []byte) (key, value []byte, err error) {
	r := wireReader{b: data}
	for num, v, ok := r.next(); ok; num, v, ok = r.next() {
		switch num {
		case fieldMapEntryKey:
			key = v
		case fieldMapEntryValue:
			value = v
		}
	}
	return key, value, r.err
}

// wireReader walks the fields of one encoded message and yields the
// length-delimited ones, skipping fields of other wire types.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) next() (protowire.Number, []byte, bool) {
	for len(r.b) > 0 {
		num, typ, n := protowire.ConsumeTag(r.b)
		if n < 0 {
			return r.fail(n)
		}
		r.b = r.b[n:]
		if typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, r.b)
			if m < 0 {
				return r.fail(m)
			}
			r.b = r.b[m:]
			continue
		}
		v, m := protowire.ConsumeBytes(r.b)
		if m < 0 {
			return r.fail(m)
		}
		r.b = r.b[m:]
		return num, v, true
	}
	return 0, nil, false
}

func (r *wireReader) fail(n int) (protowire.Number, []byte, bool) {
	r.err = fmt.Errorf("%w: %w", errInvalidWire, protowire.ParseError(n))
	r.b = nil
	return 0, nil, false
}

// view returns b as a string without copying. The result must not outlive
// b or be kept: it is only for comparisons and lookups.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
