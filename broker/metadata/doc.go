// Package metadata keeps the broker's topics: names, ids, partition counts
// and configs, and the cluster id.
//
// # Durability
//
// Every change is a record in an internal partition log of the broker's own
// storage engine (the directory __cluster_metadata-0 under the data
// directory), fsynced before the change becomes visible. Open replays the
// log, the last record of a key winning:
//
//	| key            | value                                              |
//	|----------------|----------------------------------------------------|
//	| "cluster"      | the cluster id (22 characters, base64url of 16 B)  |
//	| "topic/<name>" | JSON {"id": hex UUID, "partitions": n, "configs"}  |
//	| "topic/<name>" | empty: the topic was deleted                       |
//
// # Configs
//
// The topic configs the broker honours, their validation and the
// broker-wide defaults live here too ([TopicDefaults], [ValidateConfig]),
// so the Kafka front end and the command line agree on them.
package metadata
