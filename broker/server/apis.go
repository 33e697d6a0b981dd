package server

// API keys the server refers to by name.
const (
	apiKeyApiVersions      int16 = 18
	apiKeySaslHandshake    int16 = 17
	apiKeySaslAuthenticate int16 = 36
)

// apiTable is the dispatch table: API key -> supported versions and
// handler. It is also what ApiVersions advertises, so only implemented APIs
// appear here. Versions are capped at the Kafka 2.8 maxima; minimum 0
// everywhere except Produce (3, record batch v2) and Fetch (4).
//
// To add an API: write NN_name.go with a method
// `func (s *Server) handleName(ctx context.Context, r *Request) (Reply, error)`
// and add one line here.
//
// SaslHandshake (17) and SaslAuthenticate (36) are listed only when SASL is
// on, so a client configured for SASL against a broker without it fails at
// once instead of authenticating to nothing.
func (s *Server) apiTable() map[int16]api {
	t := map[int16]api{
		0:  {min: 3, max: 9, handle: s.handleProduce},
		1:  {min: 4, max: 12, handle: s.handleFetch},
		2:  {min: 0, max: 6, handle: s.handleListOffsets},
		3:  {min: 0, max: 11, handle: s.handleMetadata},
		8:  {min: 0, max: 8, handle: s.handleOffsetCommit},
		9:  {min: 0, max: 7, handle: s.handleOffsetFetch},
		10: {min: 0, max: 3, handle: s.handleFindCoordinator},
		11: {min: 0, max: 7, handle: s.handleJoinGroup},
		12: {min: 0, max: 4, handle: s.handleHeartbeat},
		13: {min: 0, max: 4, handle: s.handleLeaveGroup},
		14: {min: 0, max: 5, handle: s.handleSyncGroup},
		15: {min: 0, max: 5, handle: s.handleDescribeGroups},
		16: {min: 0, max: 4, handle: s.handleListGroups},
		18: {min: 0, max: 3, handle: s.handleApiVersions},
		19: {min: 0, max: 7, handle: s.handleCreateTopics},
		20: {min: 0, max: 6, handle: s.handleDeleteTopics},
		21: {min: 0, max: 2, handle: s.handleDeleteRecords},
		22: {min: 0, max: 4, handle: s.handleInitProducerID},
		32: {min: 0, max: 4, handle: s.handleDescribeConfigs},
		33: {min: 0, max: 2, handle: s.handleAlterConfigs},
		35: {min: 0, max: 2, handle: s.handleDescribeLogDirs},
		37: {min: 0, max: 3, handle: s.handleCreatePartitions},
		42: {min: 0, max: 2, handle: s.handleDeleteGroups},
		44: {min: 0, max: 1, handle: s.handleIncrementalAlterConfigs},
		47: {min: 0, max: 0, handle: s.handleOffsetDelete},
		60: {min: 0, max: 0, handle: s.handleDescribeCluster},
	}
	if s.auth != nil {
		t[apiKeySaslHandshake] = api{min: 0, max: 1, handle: s.handleSaslHandshake}
		t[apiKeySaslAuthenticate] = api{min: 0, max: 2, handle: s.handleSaslAuthenticate}
	}
	return t
}
