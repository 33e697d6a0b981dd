// Package cloudevent maps CloudEvents 1.0 onto Watermill messages, and holds
// the content-type codecs the SDK uses to turn payloads into Go values.
//
// Every message a Millstream application sends is a CloudEvent built with
// CloudEvents sdk-go v2 ([event.Event]). On the wire it is a Watermill
// [message.Message]: Metadata carries the attributes, Payload the data. How
// attributes become metadata keys depends on the transport, described by a
// [Convention]:
//
//	attribute          Kafka (binary)     AMQP 0-9-1 (binary)       memory
//	-----------------  -----------------  ------------------------  ---------------
//	id                 ce_id              cloudEvents:id            ce_id
//	source             ce_source          cloudEvents:source        ce_source
//	type               ce_type            cloudEvents:type          ce_type
//	specversion        ce_specversion     cloudEvents:specversion   ce_specversion
//	time               ce_time            cloudEvents:time          ce_time
//	subject            ce_subject         cloudEvents:subject       ce_subject
//	datacontenttype    content-type       content-type (*)          content-type
//	<extension>        ce_<extension>     cloudEvents:<extension>   ce_<extension>
//	partitionkey       ce_partitionkey    cloudEvents:partitionkey  ce_partitionkey
//	                   + record key (**)
//
// (*) the rabbit binder moves the content-type metadata entry to the AMQP
// basic.properties content-type and back. (**) [ToMessage] copies the
// partitionkey extension to [MetadataKey], which the Kafka binder writes as the
// record key; on receipt it puts the record key there, and [FromMessage] turns
// it into the partitionkey extension when no header carries it.
//
// In structured mode the whole event is the payload, encoded as JSON with the
// content type application/cloudevents+json; only the transport-private
// entries ([MetadataKey], [MetadataPartition]) ride next to it.
//
// # Messages that are not CloudEvents
//
// A message without a specversion attribute (a record written by kcat, say)
// is still accepted: [FromMessage] makes an event of it with a generated id
// (the Watermill UUID when there is one), source [ExternalSource], type
// [ExternalType], the time of receipt, the content-type header if any, and the
// payload as data. Such a message is never an error.
//
// # Codecs
//
// A [Codec] turns Go values into bytes of one content type and back.
// [NewCodecs] returns the default set: application/json (and any +json
// type), text/plain and application/octet-stream.
package cloudevent
