#pragma once
// One data-plane worker: a thread with its own epoll loop, its own listeners (one socket per
// service, SO_REUSEPORT), its own TCP connection and UDP flow tables and its own pipe pool.
// Nothing here is shared with other workers except the Service (its locked pick) and the
// realservers' atomic counters. Only run() reads the clock, once per loop turn.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/fd.h"
#include "core/result.h"
#include "dp/connlog/conn_log.h"
#include "dp/errors.h"
#include "dp/health.h"
#include "dp/proxy/admission.h"
#include "dp/proxy/balancer.h"
#include "dp/proxy/options.h"
#include "dp/proxy/service.h"

namespace lvs::dp::proxy {

// What an epoll event points at.
enum class TagKind : std::uint8_t {
  kWake,
  kTcpListener,
  kUdpListener,
  kTcpClient,
  kTcpUpstream,
  kUdpUpstream
};
struct Tag {
  TagKind kind = TagKind::kWake;
  void* owner = nullptr;
};

struct PipePair {
  core::Fd r{};
  core::Fd w{};
};

// One direction of a TCP relay. Small reads are copied: recv into the worker's scratch
// buffer and sent on at once, so nothing stays in lvsd unless dst pushes back; what dst did not
// take waits in `buf` (its exact size, freed once sent) and src is not read meanwhile. A read
// that fills the scratch buffer, or any push-back, turns the direction to `bulk`: from then on
// it splices through a pipe borrowed while bytes are pending. `pending` never exceeds the
// pipe size (bulk) or one read (copy): that is the back-pressure.
struct Relay {
  int src = -1;
  int dst = -1;
  PipePair pipe{};                // bulk: borrowed from the worker's pool while bytes are pending
  std::unique_ptr<char[]> buf{};  // copy: the bytes dst did not take yet
  std::size_t buf_off = 0;
  std::size_t pending = 0;
  bool bulk = false;        // splice from now on
  bool no_splice = false;   // splice unavailable (disabled, no pipe, or refused): always copy
  bool eof = false;         // src sent FIN
  bool shut = false;        // FIN passed on to dst
  std::uint64_t moved = 0;  // bytes read from src (the connection log's byte count)
};

// The worker's scratch buffer: one TCP copy-mode read, one UDP datagram (the largest).
inline constexpr std::size_t kScratch = 65536;

// Datagrams moved by one recvmmsg/sendmmsg: kUdpBatch slots of kScratch bytes (not
// zero-filled: only the pages datagrams touch become resident).
inline constexpr std::size_t kUdpBatch = 16;
struct UdpBatch {
  UdpBatch() : data(new char[kUdpBatch * kScratch]) {}
  // Points slot i at its buffer, ready to receive (with the sender's address if `from`).
  void arm(std::size_t i, bool from);
  std::unique_ptr<char[]> data;
  std::array<mmsghdr, kUdpBatch> msgs{};
  std::array<iovec, kUdpBatch> iov{};
  std::array<sockaddr_storage, kUdpBatch> addr{};
};

enum class TimerClass : std::uint8_t { kConnecting, kEstablished, kFin, kDead };
inline constexpr std::size_t kTimerClasses = 4;

struct TcpConn;
using TcpList = std::list<std::unique_ptr<TcpConn>>;

struct TcpConn {
  Tag client_tag{};
  Tag upstream_tag{};
  core::Fd client{};
  core::Fd upstream{};
  core::Endpoint client_addr{};
  FlowHandle flow{};
  Relay up{};    // client -> realserver
  Relay down{};  // realserver -> client
  bool connected = false;
  bool client_fin_first = false;  // the first FIN seen came from the client
  core::TimePoint start{};        // accepted (connection log)
  TimerClass timer = TimerClass::kConnecting;
  core::TimePoint last{};
  TcpList::iterator self{};
  bool repump = false;            // queued in Worker::repump_
  std::uint32_t client_seen = 0;  // the client's epoll events while connecting
  BudgetLease lease{};            // its share of the relay memory budget
};

// How an ended TCP connection is remembered (spec §3.1): IPVS keeps its entry, counted as
// inactive, in TIME_WAIT after both FINs and in CLOSE after a reset.
enum class Linger : std::uint8_t { kTimeWait, kClose, kNone };
inline constexpr std::size_t kLingerKinds = 2;

// One ended connection still listed by `-L -c` and counted in its realserver's InActConn until
// `expires`. The handle keeps the realserver (and its template) alive: deleting either is safe.
struct Lingering {
  core::Endpoint client{};
  core::Endpoint virt{};
  FlowHandle flow{};
  core::TimePoint expires{};
};

struct ListenerReg;

struct UdpFlow {
  Tag tag{};
  core::Fd upstream{};
  FlowHandle flow{};
  core::Endpoint client{};
  core::Endpoint dest{};  // one-packet flows are keyed by (client, dest)
  ListenerReg* owner = nullptr;
  bool header_pending = false;             // PROXY v2 header still to go before the first datagram
  std::optional<core::IpAddress> local{};  // wildcard VIP: the address the client sent to
  core::TimePoint last{};
  std::list<UdpFlow*>::iterator lru{};
  core::TimePoint start{};      // created (connection log)
  std::uint64_t in_bytes = 0;   // client -> realserver, sent on
  std::uint64_t out_bytes = 0;  // realserver -> client, sent on
};

struct FlowKey {
  core::Endpoint client{};
  core::Endpoint dest{};  // unset except for one-packet services
  bool operator==(const FlowKey&) const = default;
};
struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const {
    return std::hash<core::Endpoint>{}(k.client) * 1000003U ^ std::hash<core::Endpoint>{}(k.dest);
  }
};

struct ListenerReg {
  Tag tag{};
  std::shared_ptr<Service> svc{};
  int fd = -1;
  std::unordered_map<FlowKey, std::unique_ptr<UdpFlow>, FlowKeyHash> flows{};
};

// At most `kBurst` messages per second pass; the rest are counted and reported with the next.
class LogLimiter {
 public:
  // True when a message may be logged now; `suppressed` gets the count skipped since.
  bool allow(core::TimePoint now, std::uint64_t& suppressed);

 private:
  static constexpr unsigned kBurst = 5;
  core::TimePoint window_{};
  unsigned in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

// Requests from the control thread that the worker answers on its next turn (listing.cc):
// `-L -c` listings and `--set` timeouts. The worker's tables stay its own; only the answer
// crosses threads, under `mu`.
struct Mailbox {
  std::mutex mu;
  std::condition_variable answered_cv;
  std::uint64_t asked = 0;     // listing requests made (control thread)
  std::uint64_t answered = 0;  // the request `entries` answers (worker)
  std::vector<ConnEntry> entries{};
  std::optional<IdleTimeouts> timeouts{};  // to apply on the next turn
};

class Worker {
 public:
  static core::Result<std::unique_ptr<Worker>> create(std::size_t index, const ProxyOptions& opts,
                                                      const core::Clock& clock,
                                                      const SnapshotBox& box,
                                                      std::atomic<std::uint64_t>& refused);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): the relay memory budget shared by all workers (nullptr = none).
  void set_budget(RelayBudget* budget) { budget_ = budget; }
  // Before start(): the connection log and this worker's queue of it.
  void set_conn_log(connlog::ConnLog* log, connlog::RecordQueue* queue) {
    conn_log_ = log;
    log_queue_ = queue;
  }
  // Any thread: this worker's errors by kind.
  ErrorCounts errors() const;
  // Any thread: whether its loop runs and when it last turned (health.h).
  WorkerBeat beat() const;
  void start();
  // Any thread: the worker re-reads the snapshot before its next wait.
  void wake();
  // Any thread but the worker's: stops the loop and joins it. Open flows are closed.
  void stop();

  // Control thread (listing.cc): asks for the worker's connection entries (worker 0 adds the
  // persistence templates), then collects the answer, waiting until `deadline` at most. A
  // worker that does not answer in time (or is stopped) contributes nothing.
  void ask_connections();
  std::vector<ConnEntry> collect_connections(std::chrono::steady_clock::time_point deadline);
  // Control thread: new idle timeouts (zero fields keep theirs), applied on the next turn.
  void set_timeouts(const IdleTimeouts& t);

 private:
  Worker(std::size_t index, const ProxyOptions& opts, const core::Clock& clock,
         const SnapshotBox& box, std::atomic<std::uint64_t>& refused);
  void run();
  int wait_timeout_ms() const;
  void reconcile();
  // Answers the control thread's mailbox (listing.cc).
  void answer_mailbox();
  void list_connections(std::vector<ConnEntry>& out) const;
  void expire();
  // Worker 0 only, every kTickPeriod: template sweep and rate estimators of every service.
  void tick();
  bool epoll_add(int fd, std::uint32_t events, Tag* tag);
  void epoll_del(int fd);

  // TCP (tcp.cc)
  void on_tcp_accept(ListenerReg& reg);
  void accept_one(ListenerReg& reg, core::Fd client, const core::Endpoint& client_addr);
  bool refuse_with_spare(int listener, int err);
  // admission.cc: what the new connection cannot get ("" = nothing missing).
  // `err`: the errno of the shortage.
  std::string relay_shortage(int& err);
  void on_tcp_event(TcpConn& c, bool upstream_side, std::uint32_t events);
  // `upstream_events`: the epoll events that showed the connect done (0: connect() returned 0).
  void on_connected(TcpConn& c, std::uint32_t upstream_events);
  // A failed connect ends as IPVS's CLOSE; one that timed out (expire()) leaves nothing.
  void connect_failed(TcpConn& c, int err, Linger linger = Linger::kClose);
  // Counts one error of kind `k` (this worker's slot).
  void count(ErrorKind k) {
    auto& c = errors_[static_cast<std::size_t>(k)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // The connection log: a record of c / f ending for `why`, when the log is on.
  void log_tcp_end(const TcpConn& c, connlog::EndReason why);
  void log_udp_end(const UdpFlow& f, connlog::EndReason why);
  enum class PumpResult : std::uint8_t { kOk, kSrcError, kDstError };
  // Moves r's bytes; `src_event` holds the epoll events of r.src that triggered this call
  // (0: unknown, so src is read until EAGAIN). Sets `more` when it stopped with work left.
  // `other_shut`: the opposite direction is done, so r's FIN is left to the close that follows.
  PumpResult pump(Relay& r, bool other_shut, std::uint32_t src_event,
                  std::atomic<std::uint64_t>& bytes, std::atomic<std::uint64_t>& pkts,
                  bool& progress, bool& more);
  bool borrow_pipe(Relay& r);
  void run_repumps();
  void release_pipe(Relay& r);
  void relay_failed(TcpConn& c, bool client_side);
  void move_to(TcpConn& c, TimerClass t);
  // Closes c's sockets (reset: with RST) and keeps a lingering record of kind `linger`;
  // the connection log gets a line saying `why`.
  void close_conn(TcpConn& c, bool reset, Linger linger, connlog::EndReason why);
  void start_lingering(TcpConn& c, Linger kind);
  void drop_lingering(Linger kind);

  // UDP (udp.cc)
  void on_udp_datagram(ListenerReg& reg);
  void on_udp_reply(UdpFlow& f);
  UdpFlow* udp_flow_for(ListenerReg& reg, const core::Endpoint& client);
  UdpFlow* no_udp_dest(const Service& svc);
  UdpFlow* new_udp_flow(ListenerReg& reg, const FlowKey& key, FlowHandle handle);
  void udp_out_of_memory(const ListenerReg& reg, const core::Endpoint& client);  // logs
  bool udp_flow_stale(const UdpFlow& f) const;
  void relay_request(ListenerReg& reg, const sockaddr_storage& from,
                     const std::optional<core::IpAddress>* local, char* data, std::size_t n);
  void kill_udp_flow(UdpFlow& f, connlog::EndReason why);

  std::size_t index_ = 0;
  ProxyOptions opts_{};
  const core::Clock* clock_ = nullptr;
  const SnapshotBox* box_ = nullptr;
  std::atomic<std::uint64_t>* refused_ = nullptr;
  RelayBudget* budget_ = nullptr;
  core::Fd epoll_{};
  core::Fd wake_fd_{};
  core::Fd spare_fd_{};  // given up to accept-and-refuse when descriptors run out
  Tag wake_tag_{};
  std::atomic<bool> stopping_{false};
  // The heartbeat beat() reads: the loop runs, and its clock after its last wait (ns).
  std::atomic<bool> running_{false};
  std::atomic<core::Duration::rep> last_turn_ns_{0};
  std::thread thread_{};
  Mailbox mailbox_{};

  core::TimePoint now_{};
  core::TimePoint next_tick_{};
  bool woken_ = true;
  std::shared_ptr<const Snapshot> snapshot_{};
  std::unordered_map<const Service*, std::unique_ptr<ListenerReg>> regs_{};
  std::array<TcpList, kTimerClasses> tcp_{};
  // Ended connections by kind (Linger); one timeout per kind keeps each in expiry order.
  std::array<std::deque<Lingering>, kLingerKinds> lingering_{};
  std::list<UdpFlow*> udp_lru_{};
  std::vector<std::unique_ptr<UdpFlow>> dead_flows_{};
  std::vector<std::unique_ptr<ListenerReg>> dead_regs_{};
  std::vector<PipePair> pipes_{};
  std::vector<TcpConn*> repump_{};     // connections that stopped pumping with work left
  std::unique_ptr<char[]> scratch_{};  // kScratch bytes: TCP copy-mode reads
  UdpBatch requests_{};                // datagrams read from a listener
  UdpBatch replies_{};                 // datagrams from a realserver
  LogLimiter log_connect_{};
  LogLimiter log_refuse_{};
  connlog::ConnLog* conn_log_ = nullptr;
  connlog::RecordQueue* log_queue_ = nullptr;
  // Written by this worker only (relaxed load + store), read by any thread.
  alignas(64) std::array<std::atomic<std::uint64_t>, kErrorKinds> errors_{};
};

}  // namespace lvs::dp::proxy
