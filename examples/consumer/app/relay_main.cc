// A line relay on a TCP port, until Ctrl-C or SIGTERM.
//   bazel run //app:relay_main -- 7777      then e.g. `nc 127.0.0.1 7777`
//   (no port, or 0: an ephemeral one, printed)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "app/relay.h"
#include "poller/poller.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  // Signals go to the thread that waits for them, which shuts the poller
  // down: a signal handler may not call Shutdown() itself.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create();
  if (!poller.ok()) {
    std::fprintf(stderr, "Create: %s\n", poller.status().ToString().c_str());
    return 1;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int reuse = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t length = sizeof(address);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 64) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    std::perror("listen");
    return 1;
  }
  std::printf("relay on 127.0.0.1:%d (%s backend); Ctrl-C stops it\n",
              ntohs(address.sin_port),
              std::string((*poller)->backend_name()).c_str());
  std::fflush(stdout);

  std::thread stopper([&] {
    int signal_number;
    sigwait(&stop_signals, &signal_number);
    (*poller)->Shutdown();
  });
  absl::Status served;
  {
    consumer::Relay relay(**poller);
    served = relay.Listen(listener);
    if (served.ok()) served = relay.Run();
  }
  ::close(listener);
  if (!served.ok()) {
    std::fprintf(stderr, "relay: %s\n", served.ToString().c_str());
  }
  // The stopper waits for a signal; send it one if the relay ended first.
  if (!(*poller)->is_shut_down()) kill(getpid(), SIGTERM);
  stopper.join();
  return served.ok() ? 0 : 1;
}
