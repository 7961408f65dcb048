package extauthz

import (
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// vtMarshaler is implemented by the vtprotobuf code that go-control-plane
// generates for the Envoy messages. That code is compiled only with the
// "vtprotobuf" build tag (go-control-plane/envoy v1.40.0), and only the
// marshal side exists: there is no UnmarshalVT.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict(data []byte) (int, error)
}

// Codec returns the gRPC codec for a grpc.Server that serves the
// Authorization service of this package. Pass it with
// grpc.ForceServerCodecV2(extauthz.Codec()). Other services on the same
// server keep the standard behavior.
//
// It decodes a CheckRequest with projectCheckRequest, which reads only the
// fields a check uses and is several times cheaper than a full decode.
// Other messages use the standard protobuf runtime. It marshals with the
// vtprotobuf code that go-control-plane generates when the binary is built
// with "-tags vtprotobuf", and with the standard runtime otherwise.
func Codec() encoding.CodecV2 { return codec{} }

type codec struct{}

// Name is "proto", so the codec serves ordinary application/grpc requests.
func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(vtMarshaler); ok {
		return marshalVT(m)
	}
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("marshal: %T is not a protobuf message", v)
	}
	return marshalProto(msg)
}

func marshalVT(m vtMarshaler) (mem.BufferSlice, error) {
	size := m.SizeVT()
	buf, free := allocate(size)
	if _, err := m.MarshalToSizedBufferVTStrict(*buf); err != nil {
		free()
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return wrap(buf, size), nil
}

func marshalProto(msg proto.Message) (mem.BufferSlice, error) {
	size := proto.Size(msg)
	buf, free := allocate(size)
	// UseCachedSize is safe because proto.Size just computed the sizes and
	// gRPC does not modify a message while it marshals it.
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend((*buf)[:0], msg)
	if err != nil {
		free()
		return nil, fmt.Errorf("marshal: %w", err)
	}
	*buf = out
	return wrap(buf, size), nil
}

// allocate returns a buffer of exactly size bytes, from gRPC's pool when
// the size is worth pooling.
func allocate(size int) (*[]byte, func()) {
	if mem.IsBelowBufferPoolingThreshold(size) {
		b := make([]byte, size)
		return &b, func() {}
	}
	pool := mem.DefaultBufferPool()
	b := pool.Get(size)
	return b, func() { pool.Put(b) }
}

func wrap(buf *[]byte, size int) mem.BufferSlice {
	if mem.IsBelowBufferPoolingThreshold(size) {
		return mem.BufferSlice{mem.SliceBuffer(*buf)}
	}
	return mem.BufferSlice{mem.NewBuffer(buf, mem.DefaultBufferPool())}
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("unmarshal: %T is not a protobuf message", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	var err error
	if req, ok := msg.(*authv3.CheckRequest); ok {
		err = projectCheckRequest(buf.ReadOnlyData(), req)
	} else {
		err = proto.Unmarshal(buf.ReadOnlyData(), msg)
	}
	if err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	return nil
}
