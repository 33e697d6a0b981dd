package record

import (
	"encoding/binary"
	"fmt"
)

// Split cuts b, the records field of a produce request or a run of stored
// batches, into its batches. The results are sub-slices of b; nothing is
// copied. It reads only each batch's length: check each result with
// [Validate]. A tail too short to be a whole batch is an error wrapping
// [ErrCorrupt]; an empty b gives no batches.
func Split(b []byte) ([][]byte, error) {
	var out [][]byte
	for pos := 0; pos < len(b); {
		size, err := batchSize(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("record: batch at byte %d: %w", pos, err)
		}
		out = append(out, b[pos:pos+size:pos+size])
		pos += size
	}
	return out, nil
}

// batchSize returns the size of the batch at the start of b, checking only
// that its length field is plausible and that all of it is present.
func batchSize(b []byte) (int, error) {
	if len(b) < lengthOverhead {
		return 0, fmt.Errorf("torn tail of %d bytes: %w", len(b), ErrCorrupt)
	}
	l := int32(binary.BigEndian.Uint32(b[posBatchLength:]))
	if l < 0 || (l < minBatchLength && len(b) > posMagic && b[posMagic] == 2) {
		return 0, fmt.Errorf("batchLength %d: %w", l, ErrCorrupt)
	}
	size := int64(l) + lengthOverhead
	if size > int64(len(b)) {
		return 0, fmt.Errorf("torn batch: %d of %d bytes present: %w", len(b), size, ErrCorrupt)
	}
	return int(size), nil
}
