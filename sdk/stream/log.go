package stream

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// wmLogger adapts the application's slog logger for Watermill. Watermill's
// per-message logs are at its Trace level; they are built only when the
// logger takes them. Watermill Info (router start and stop) becomes Debug.
type wmLogger struct {
	l      *slog.Logger
	fields watermill.LogFields
}

// levelTrace is below slog's Debug.
const levelTrace = slog.LevelDebug - 4

func (w wmLogger) Error(msg string, err error, fields watermill.LogFields) {
	w.log(slog.LevelError, msg, fields, slog.Any("error", err))
}
func (w wmLogger) Info(msg string, fields watermill.LogFields)  { w.log(slog.LevelDebug, msg, fields) }
func (w wmLogger) Debug(msg string, fields watermill.LogFields) { w.log(slog.LevelDebug, msg, fields) }
func (w wmLogger) Trace(msg string, fields watermill.LogFields) { w.log(levelTrace, msg, fields) }

func (w wmLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return wmLogger{l: w.l, fields: w.fields.Add(fields)}
}

func (w wmLogger) log(level slog.Level, msg string, fields watermill.LogFields, extra ...slog.Attr) {
	ctx := context.Background()
	if !w.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(w.fields)+len(fields)+len(extra))
	for k, v := range w.fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	for k, v := range fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	attrs = append(attrs, extra...)
	w.l.LogAttrs(ctx, level, "watermill: "+msg, attrs...)
}
