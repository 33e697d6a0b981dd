package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Format renders consumed records as lines of text.
//
// A format is either "json" (one JSON object per record) or a pattern in
// which these verbs are replaced, much like kcat's -f:
//
//	%t topic      %p partition   %o offset
//	%k key        %v value       %h headers as k=v,k=v
//	%T timestamp in Unix milliseconds        %d timestamp in RFC 3339
//	%K key length %S value length            %% a percent sign
//
// and \n, \t and \\ are a newline, a tab and a backslash. A pattern does not
// end its output with a newline unless it says so.
type Format struct {
	json  bool
	parts []formatPart
}

type formatPart struct {
	lit  string
	verb byte // 0 for a literal
}

// DefaultFormat is the pattern consume uses given --print-key and
// --print-headers: the value alone, preceded by the key and the headers
// when asked, separated by tabs.
func DefaultFormat(printKey, printHeaders bool) string {
	var b strings.Builder
	if printHeaders {
		b.WriteString(`%h\t`)
	}
	if printKey {
		b.WriteString(`%k\t`)
	}
	b.WriteString(`%v\n`)
	return b.String()
}

// ParseFormat parses "json" or a pattern.
func ParseFormat(s string) (*Format, error) {
	if s == "json" {
		return &Format{json: true}, nil
	}
	f := &Format{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, formatPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%', '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("format %q: a lone %c at the end", s, c)
			}
			i++
			n := s[i]
			if c == '\\' {
				switch n {
				case 'n':
					lit.WriteByte('\n')
				case 't':
					lit.WriteByte('\t')
				case '\\':
					lit.WriteByte('\\')
				default:
					return nil, fmt.Errorf(`format %q: unknown escape \%c (want \n, \t or \\)`, s, n)
				}
				continue
			}
			if n == '%' {
				lit.WriteByte('%')
				continue
			}
			if !strings.ContainsRune("tpokvhTdKS", rune(n)) {
				return nil, fmt.Errorf("format %q: unknown verb %%%c (want one of %%t %%p %%o %%k %%v %%h %%T %%d %%K %%S)", s, n)
			}
			flush()
			f.parts = append(f.parts, formatPart{verb: n})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return f, nil
}

// AppendRecord appends r rendered in this format to dst.
func (f *Format) AppendRecord(dst []byte, r *kgo.Record) []byte {
	if f.json {
		return appendJSON(dst, r)
	}
	for _, p := range f.parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.lit...)
		case 't':
			dst = append(dst, r.Topic...)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 'k':
			dst = append(dst, r.Key...)
		case 'v':
			dst = append(dst, r.Value...)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h.Key...)
				dst = append(dst, '=')
				dst = append(dst, h.Value...)
			}
		case 'T':
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case 'd':
			dst = r.Timestamp.UTC().AppendFormat(dst, time.RFC3339Nano)
		case 'K':
			dst = strconv.AppendInt(dst, int64(len(r.Key)), 10)
		case 'S':
			dst = strconv.AppendInt(dst, int64(len(r.Value)), 10)
		}
	}
	return dst
}

// WriteRecord writes r in this format to w.
func (f *Format) WriteRecord(w io.Writer, r *kgo.Record) error {
	_, err := w.Write(f.AppendRecord(nil, r))
	return err
}

// jsonRecord is the shape of --format json. Bytes that are valid UTF-8 are
// given as strings; others in base64 under the _b64 name, so nothing is
// silently altered.
type jsonRecord struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp int64        `json:"timestamp_ms"`
	Key       *string      `json:"key,omitempty"`
	KeyB64    *string      `json:"key_b64,omitempty"`
	Value     *string      `json:"value,omitempty"`
	ValueB64  *string      `json:"value_b64,omitempty"`
	Headers   []jsonHeader `json:"headers,omitempty"`
}

type jsonHeader struct {
	Key      string  `json:"key"`
	Value    *string `json:"value,omitempty"`
	ValueB64 *string `json:"value_b64,omitempty"`
}

func textOrB64(b []byte) (text, b64 *string) {
	if b == nil {
		return nil, nil
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

func appendJSON(dst []byte, r *kgo.Record) []byte {
	j := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli()}
	j.Key, j.KeyB64 = textOrB64(r.Key)
	j.Value, j.ValueB64 = textOrB64(r.Value)
	if j.Value == nil && j.ValueB64 == nil {
		empty := ""
		j.Value = &empty
	}
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueB64 = textOrB64(h.Value)
		j.Headers = append(j.Headers, jh)
	}
	b, err := json.Marshal(j)
	if err != nil {
		// Marshalling strings, numbers and slices of them cannot fail.
		panic(fmt.Sprintf("cli: marshal record: %v", err))
	}
	dst = append(dst, b...)
	return append(dst, '\n')
}
