#include "server/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace wasikv {
namespace {

// The fields of /proc/self/stat after the command name (which may hold
// spaces, so it is skipped up to its closing parenthesis); field 3 (state)
// is element 0.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  const size_t end_of_name = line.rfind(')');
  if (end_of_name == std::string::npos) return fields;
  std::istringstream rest(line.substr(end_of_name + 1));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double seconds = 0;
      in >> seconds;
      return seconds;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

double Field(const std::vector<std::string>& fields, size_t stat_index) {
  const size_t i = stat_index - 3;
  return i < fields.size() ? std::strtod(fields[i].c_str(), nullptr) : 0;
}

// Counts the lines of a /proc/net/tcp table ("sl local_address rem_address
// st ...", addresses as HEX_IP:HEX_PORT) in state 01, ESTABLISHED, whose
// local port is `port`.
size_t CountEstablished(const char* table, int port) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  size_t count = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state) || state != "01") continue;
    const size_t colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) ++count;
  }
  return count;
}

}  // namespace

size_t CountEstablishedConnections(int port) {
  return CountEstablished("/proc/self/net/tcp", port) +
         CountEstablished("/proc/self/net/tcp6", port);
}

void AddConnectionMetrics(ServerMetrics* metrics, int port) {
  prometheus::Gauge& connections =
      metrics->AddGauge("wasikv_grpc_connections", "Established TCP connections to the gRPC port.");
  metrics->AddScrapeHook([&connections, port] {
    connections.Set(static_cast<double>(CountEstablishedConnections(port)));
  });
}

void AddProcessMetrics(ServerMetrics* metrics) {
  prometheus::Counter& cpu =
      metrics->AddCounter("process_cpu_seconds_total", "User and system CPU time, in seconds.");
  prometheus::Gauge& resident =
      metrics->AddGauge("process_resident_memory_bytes", "Resident memory size, in bytes.");
  prometheus::Gauge& virtual_memory =
      metrics->AddGauge("process_virtual_memory_bytes", "Virtual memory size, in bytes.");
  prometheus::Gauge& open_fds = metrics->AddGauge("process_open_fds", "Open file descriptors.");
  prometheus::Gauge& max_fds =
      metrics->AddGauge("process_max_fds", "The limit on open file descriptors.");
  prometheus::Gauge& threads = metrics->AddGauge("process_threads", "Operating system threads.");
  prometheus::Gauge& start_time = metrics->AddGauge(
      "process_start_time_seconds", "When the process started, in seconds since the Unix epoch.");

  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
  start_time.Set(BootTimeSeconds() + Field(StatFields(), 22) / ticks);

  metrics->AddScrapeHook([&, ticks, page_bytes] {
    const std::vector<std::string> fields = StatFields();
    SetCumulative(cpu, (Field(fields, 14) + Field(fields, 15)) / ticks);
    threads.Set(Field(fields, 20));
    virtual_memory.Set(Field(fields, 23));
    resident.Set(Field(fields, 24) * page_bytes);
    std::error_code ec;
    size_t fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++fds;
    }
    open_fds.Set(static_cast<double>(fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) max_fds.Set(static_cast<double>(limit.rlim_cur));
  });
}

}  // namespace wasikv
