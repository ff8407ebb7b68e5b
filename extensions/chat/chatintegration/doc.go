// Package chatintegration holds end-to-end tests of the chat over real `tangerine serve`
// processes and a real Apache Pulsar broker: two processes on one pb_data that share rooms
// through Pulsar, and a Pulsar outage while clients keep sending. The tests carry the
// `integration` build tag and run in `make test-integration` (scripts/integration.sh), which
// starts Pulsar and exports TANGERINE_PULSAR_URL; without it they fail rather than skip.
//
//	bash scripts/pulsar.sh start
//	TANGERINE_PULSAR_URL=pulsar://127.0.0.1:6650 TANGERINE_PULSAR_FAULT=1 \
//		go test -tags integration -count=1 -v ./extensions/chat/chatintegration/
//
// The package has no non-test code.
package chatintegration
