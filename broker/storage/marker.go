package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/millstream/millstream/broker/vfs"
)

// Names of the small files beside the segments.
const (
	startOffsetFile = "log-start-offset"
	cleanFile       = ".clean-shutdown"
	tmpExt          = ".tmp"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeStartOffset durably replaces the log start offset file: 8 bytes of
// offset and their CRC-32C, written to a temporary file, fsynced, renamed
// over the old one, and the directory fsynced.
func writeStartOffset(fsys vfs.FS, dir string, offset int64) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(offset))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	name := filepath.Join(dir, startOffsetFile)
	if err := writeFile(fsys, name+tmpExt, b); err != nil {
		return err
	}
	if err := fsys.Rename(name+tmpExt, name); err != nil {
		return fmt.Errorf("storage: rename %s: %w", name+tmpExt, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("storage: sync directory %s: %w", dir, err)
	}
	return nil
}

// readStartOffset returns the stored log start offset, or -1 if there is
// none.
func readStartOffset(fsys vfs.FS, dir string) (int64, error) {
	name := filepath.Join(dir, startOffsetFile)
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	} else if err != nil {
		return 0, fmt.Errorf("storage: open %s: %w", name, err)
	}
	defer f.Close()
	var b [12]byte
	if n, err := f.ReadAt(b[:], 0); n != len(b) {
		if err == nil || err == io.EOF {
			err = errors.New("short file")
		}
		return 0, &CorruptError{File: name, Err: err}
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, &CorruptError{File: name, Err: errors.New("crc mismatch")}
	}
	return int64(binary.BigEndian.Uint64(b[:8])), nil
}
