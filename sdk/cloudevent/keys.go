package cloudevent

// attrKeys are the metadata keys of the attributes, and of the extensions
// the SDK always writes, under one attribute prefix: computed once per
// built-in convention so that encoding a message does not build them again.
type attrKeys struct {
	prefix                                                  string
	specversion, id, source, typ, time, subject, dataschema string
	partitionkey, traceparent                               string
}

func newAttrKeys(p string) *attrKeys {
	return &attrKeys{prefix: p,
		specversion: p + "specversion", id: p + "id", source: p + "source", typ: p + "type",
		time: p + "time", subject: p + "subject", dataschema: p + "dataschema",
		partitionkey: p + PartitionKeyExtension, traceparent: p + TraceparentExtension}
}

// Read-only after package initialisation.
var (
	kafkaKeys = newAttrKeys(Kafka().AttributePrefix)
	amqpKeys  = newAttrKeys(AMQP().AttributePrefix)
)

func keysOf(c Convention) *attrKeys {
	switch c.AttributePrefix {
	case kafkaKeys.prefix:
		return kafkaKeys
	case amqpKeys.prefix:
		return amqpKeys
	}
	return newAttrKeys(c.AttributePrefix)
}

// extension returns the metadata key of extension name.
func (k *attrKeys) extension(name string) string {
	switch name {
	case PartitionKeyExtension:
		return k.partitionkey
	case TraceparentExtension:
		return k.traceparent
	}
	return k.prefix + name
}
