// gmr/fibers.hpp: Boost.Fiber fibers in the Green Threads section.
//
//   gmr::fibers::use_round_robin();          // once, on each thread that runs fibers
//   boost::fibers::fiber([] {
//     gmr::fibers::set_name("fetcher");       // optional
//     ...
//   });
//
// use_round_robin() installs a round-robin scheduling algorithm (Boost's own
// policy) that keeps a registry of the thread's live fibers. At report time each
// such thread, at its next fiber switch or while idle, records where each of its
// suspended fibers is parked, by unwinding the fiber's saved context with
// libunwind; between reports a switch costs one atomic load and a timestamp more.
// A thread that does not reach its scheduler within the time budget (a fiber
// running without yielding) is named in the section instead.
//
// Thread-safety: use_round_robin() affects the calling thread only; set_name()
// names the calling fiber. Neither may be called from a signal handler. Only
// x86_64 is supported for stacks: elsewhere fibers are listed without them.
#pragma once

#include <string>

namespace gmr::fibers {

// Installs gmr's round-robin algorithm on the calling thread (as
// boost::fibers::use_scheduling_algorithm<boost::fibers::algo::round_robin>()
// would) and registers the Boost.Fiber green-thread source. Call it before the
// thread launches fibers.
void use_round_robin();

// Names the calling fiber in reports. Needs use_round_robin() on this thread;
// elsewhere does nothing.
void set_name(std::string name);

// Returns what start-up calibration found about Boost.Context's saved-register
// layout: "" when fiber stacks can be unwound, else why not.
std::string stack_support_problem();

}  // namespace gmr::fibers
