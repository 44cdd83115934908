// Per-guest state of seed 001's keyvalue-handle-watch world: its values,
// errors and streams are plain u32 handles, so the host keeps the tables.
#ifndef WASIKV_ADAPTER_SRC_SEED_STATE_H_
#define WASIKV_ADAPTER_SRC_SEED_STATE_H_

#include <cstddef>
#include <string>

#include "wasikv/adapter/core_abi.h"
#include "wasikv/adapter/session.h"

namespace wasikv::adapter {

struct CoreGuest::SeedState {
  // A value read from the store, consumed whole (sync) or as a stream.
  struct IncomingValue {
    std::string bytes;
  };
  // A value being built for set/set-many: a sync body replaces it, an
  // output stream appends to it.
  struct OutgoingValue {
    std::string body;
  };
  struct InputStream {
    std::string bytes;
    size_t position = 0;
  };
  struct OutputStream {
    Handle outgoing_value = 0;  // the value it appends to
  };

  explicit SeedState(HandleBudget* budget)
      : incoming("incoming-value", budget),
        outgoing("outgoing-value", budget),
        errors("error", budget),
        input_streams("input-stream", budget),
        output_streams("output-stream", budget) {}

  HandleTable<IncomingValue> incoming;
  HandleTable<OutgoingValue> outgoing;
  HandleTable<std::string> errors;  // each error's trace
  HandleTable<InputStream> input_streams;
  HandleTable<OutputStream> output_streams;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_SRC_SEED_STATE_H_
