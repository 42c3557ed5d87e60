// libFuzzer: any bytes given to the control socket's decoder (the frame header lvsd reads
// first, then the request body, exactly as ControlServer::serve() does) give a Request or an
// error naming what is wrong, never a crash or a sanitizer report. A request that decodes
// re-encodes to the same bytes (the codec has one form per message); the reply decoder is
// fed the same body too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ctl/control_socket.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lvs::ctl;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string_view header = bytes.substr(0, std::min(bytes.size(), kFrameHeader));
  const std::string_view body = bytes.substr(header.size());

  auto length = decode_header(header, kMaxRequest);
  if (!length) {
    check(!length.error().message.empty());
  } else {
    check(*length <= kMaxRequest);
  }
  if (length && *length == body.size()) {
    auto req = decode_request(body);
    if (req) {
      check(!req->argv.empty() && req->argv.size() <= kMaxArgs);
      check(encode_request(*req) == bytes);
    } else {
      check(req.error().message.rfind("malformed message: ", 0) == 0);
    }
  }
  // The body alone, whatever the header said: the decoders must judge any bytes.
  if (auto req = decode_request(body); req)
    check(encode_request(*req).substr(kFrameHeader) == body);
  if (auto reply = decode_reply(body); reply) {
    check(reply->exit_code >= 0 && reply->exit_code <= 255);
    check(encode_reply(*reply).substr(kFrameHeader) == body);
  }
  return 0;
}
