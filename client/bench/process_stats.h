// Readings of this process, another process and the machine, from /proc and
// getrusage, that both benchmarks report.
#ifndef WASIKV_CLIENT_BENCH_PROCESS_STATS_H_
#define WASIKV_CLIENT_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include <string>
#include <string_view>

namespace wasikv::bench {

// User plus system CPU seconds of this process.
double SelfCpuSeconds();
// User plus system CPU of process `pid` (all threads); -1 if unknown.
double ProcessCpuSeconds(pid_t pid);
// A "Vm..." line of /proc/PID/status, e.g. VmHWM, in KiB; -1 if unknown.
long ProcStatusKib(pid_t pid, std::string_view field);
// The value after "prefix ... : " on the first line of `path` starting with
// `prefix` (e.g. "model name" in /proc/cpuinfo); "unknown" if none.
std::string FirstLineWith(const std::string& path, std::string_view prefix);
// The 1, 5 and 15 minute load averages.
std::string LoadAverage();

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_PROCESS_STATS_H_
