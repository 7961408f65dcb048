package main

import (
	"math"
	"math/bits"
	"time"
)

// The histogram buckets are log-linear, the layout HdrHistogram uses: values
// below subBucketCount nanoseconds get one bucket each, and every power-of-two
// range above is split into subBucketHalf equal buckets. A bucket is therefore
// at most 1/64 (1.6 %) of its lower bound wide, and memory stays fixed
// however many samples arrive.
const (
	subBucketBits  = 7
	subBucketCount = 1 << subBucketBits
	subBucketHalf  = subBucketCount / 2

	// maxTrackableBits sets the largest value with its own bucket to
	// 2^36-1 ns (about 68.7 s). Larger values land in the last bucket, but
	// histogram.Max still reports them exactly.
	maxTrackableBits = 36
	maxTrackable     = 1<<maxTrackableBits - 1

	bucketCount = (maxTrackableBits - subBucketBits + 2) * subBucketHalf
)

// histogram counts latencies in nanoseconds. Its zero value is empty and
// ready to use. It is not safe for concurrent use: give each goroutine its
// own and merge them afterwards.
type histogram struct {
	counts [bucketCount]uint64
	total  uint64
	min    time.Duration
	max    time.Duration
}

// Record adds one latency. A negative latency counts as zero.
func (h *histogram) Record(d time.Duration) {
	d = max(d, 0)
	if h.total == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.counts[bucketIndex(uint64(d))]++
	h.total++
}

// Merge adds every sample of other to h.
func (h *histogram) Merge(other *histogram) {
	if other.total == 0 {
		return
	}
	if h.total == 0 || other.min < h.min {
		h.min = other.min
	}
	h.max = max(h.max, other.max)
	for i, c := range other.counts {
		h.counts[i] += c
	}
	h.total += other.total
}

// Count returns the number of recorded samples.
func (h *histogram) Count() uint64 { return h.total }

// Max returns the largest recorded sample exactly, or 0 when empty.
func (h *histogram) Max() time.Duration { return h.max }

// Percentile returns the smallest bucket bound at or below which p percent of
// the samples lie, with p between 0 and 100. The result is the highest value
// of that bucket capped at Max, so it over-reports by at most one bucket width
// (1/64 of the value) and is exact below 128 ns. An empty histogram returns 0
// and p <= 0 returns the minimum.
func (h *histogram) Percentile(p float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if p <= 0 {
		return h.min
	}
	// The epsilon keeps float rounding from pushing an exact rank such as
	// 99 % of 100 samples up to the next sample.
	rank := uint64(math.Ceil(min(p, 100)*float64(h.total)/100 - 1e-9))
	rank = max(rank, 1)

	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketUpper(i)), h.max)
		}
	}
	return h.max
}

// bucketIndex returns the bucket that counts value.
func bucketIndex(value uint64) int {
	value = min(value, maxTrackable)
	if value < subBucketCount {
		return int(value)
	}
	shift := bits.Len64(value) - subBucketBits
	return shift*subBucketHalf + int(value>>shift)
}

// bucketUpper returns the highest value that bucket i counts.
func bucketUpper(i int) uint64 {
	if i < subBucketCount {
		return uint64(i)
	}
	shift := i/subBucketHalf - 1
	sub := uint64(i%subBucketHalf + subBucketHalf)
	return (sub+1)<<shift - 1
}
