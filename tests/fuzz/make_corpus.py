#!/usr/bin/env python3
"""Writes the seed corpus, tests/fuzz/corpus/, from the programs below.

Each seed is a short program in the format of tests/fuzz/model.h (4-byte operations), covering
one rule of poller/poller.h: every operation, every mode and interest, the error codes, wake and
shutdown. FOUND holds inputs the fuzzer found, byte for byte, so that every later run (and the
replay test) starts from them. libFuzzer mutates from these; the corpus replay test runs them on every backend.

Usage: tests/fuzz/make_corpus.py  (rewrites the directory; commit the result)
"""
import base64
import os
import shutil

PIPE, SOCKETPAIR, ADD, MODIFY, DELETE, WRITE, READ, CLOSE, WAIT, WAKE, SHUTDOWN, REARM = range(12)
R, W, PRI = 1, 2, 4
ONESHOT, LEVEL, EDGE, EDGE_ONESHOT = range(4)
ZERO, ONE_MS, LONG = range(3)  # Wait timeouts; LONG is 5 s, used only when a return is due.
INVALID_FD = 0xFF  # A slot byte naming handle -1.
RESERVED = 0xFF  # A token byte naming kReservedToken.


def add(slot, interest, mode=ONESHOT, token=0):
    return [ADD, slot, token, interest | (mode << 3)]


def modify(slot, interest, mode=ONESHOT, token=0):
    return [MODIFY, slot, token, interest | (mode << 3)]


def op(code, a=0, b=0, c=0):
    return [code, a, b, c]


def wait(timeout=LONG):
    return op(WAIT, timeout)


def write(slot, size=1):
    return op(WRITE, slot, size - 1)


SEEDS = {
    # Level: reported on every Wait while ready.
    "level_pipe": [op(PIPE), add(0, R, LEVEL), wait(ZERO), write(1, 3), wait(), wait(),
                   op(READ, 0), wait(ZERO), wait(ONE_MS)],
    "level_socket_read_write": [op(SOCKETPAIR), add(0, R | W, LEVEL), wait(), write(1), wait(),
                                op(READ, 0), wait()],
    # Oneshot: once, then nothing until Modify re-arms.
    "oneshot_rearm": [op(SOCKETPAIR), add(0, R), write(1), wait(), wait(ZERO), write(1),
                      wait(ZERO), modify(0, R), wait(), wait(ZERO)],
    # Rearm: the same re-arm, keeping token, interest and mode; refused for level and edge.
    "oneshot_rearm_keeps_registration": [op(SOCKETPAIR), add(0, W, token=7), write(1), wait(),
                                         wait(ZERO), op(REARM, 0), wait(), wait(ZERO),
                                         add(1, R, EDGE_ONESHOT), write(0), wait(), op(REARM, 1),
                                         wait(ZERO), write(0), wait(), op(REARM, 2),
                                         op(REARM, INVALID_FD)],
    "rearm_level_and_edge_refused": [op(SOCKETPAIR), add(0, R, LEVEL), add(1, R, EDGE), write(1),
                                     op(REARM, 0), op(REARM, 1), wait(), op(DELETE, 0),
                                     op(REARM, 0), op(SHUTDOWN), op(REARM, 1)],
    "oneshot_writable": [op(PIPE), add(1, W), wait(), wait(ZERO), modify(1, W, token=5), wait()],
    # Edge: once per change; Add or Modify while ready counts as one.
    "edge_new_data": [op(PIPE), add(0, R, EDGE), write(1), wait(), wait(ZERO), write(1),
                      wait(), op(READ, 0), wait(ZERO), write(1, 8), wait()],
    "edge_add_while_ready": [op(SOCKETPAIR), write(1), add(0, R, EDGE), wait(), wait(ZERO),
                             modify(0, R, EDGE, token=9), wait()],
    "edge_writable": [op(SOCKETPAIR), add(0, W, EDGE), wait(), wait(ZERO), write(0, 4),
                      op(READ, 1), wait(ZERO), modify(0, R | W, EDGE), wait()],
    "edge_drained_before_wait": [op(PIPE), add(0, R, EDGE), write(1), op(READ, 0), wait(ZERO),
                                 wait(ONE_MS)],
    "edge_oneshot": [op(PIPE), add(0, R, EDGE_ONESHOT), write(1), wait(), write(1), wait(ZERO),
                     op(READ, 0), modify(0, R, EDGE_ONESHOT), write(1), wait(), wait(ZERO)],
    "edge_oneshot_rearm_ready": [op(SOCKETPAIR), write(0), add(1, R | W, EDGE_ONESHOT), wait(),
                                 modify(1, R | W, EDGE_ONESHOT, token=4), wait()],
    # Interest.
    "interest_none_then_readable": [op(PIPE), write(1), add(0, 0), wait(ZERO), add(0, R),
                                    modify(0, R), wait()],
    "interest_priority_never": [op(SOCKETPAIR), write(1), add(0, PRI, LEVEL), wait(ZERO),
                                modify(0, PRI | R, LEVEL), wait()],
    "interest_writable_on_read_end": [op(PIPE), add(0, W, LEVEL), write(1), wait(ZERO),
                                      wait(ONE_MS)],
    "modify_changes_interest_token_mode": [op(SOCKETPAIR), add(0, R), wait(ZERO),
                                           modify(0, W, token=1), wait(),
                                           modify(0, W, LEVEL, token=2), wait(), wait(),
                                           modify(0, R, ONESHOT, token=3), write(1), wait(),
                                           wait(ZERO)],
    # Tokens: all four 64-bit patterns and the reserved value.
    "tokens_all_patterns": [op(SOCKETPAIR), op(SOCKETPAIR), add(0, W, LEVEL, token=0),
                            add(1, W, LEVEL, token=1), add(2, W, LEVEL, token=2 + 4 * 63),
                            add(3, W, LEVEL, token=3 + 4 * 62), wait()],
    "token_reserved": [op(PIPE), add(0, R, token=RESERVED), add(0, R), modify(0, R, token=RESERVED),
                       write(1), wait()],
    # Delete.
    "delete_stops_delivery": [op(PIPE), add(0, R, LEVEL), write(1), op(DELETE, 0), wait(ZERO),
                              op(DELETE, 0), modify(0, R), add(0, R, token=7), wait()],
    "delete_during_readiness": [op(SOCKETPAIR), add(0, W, LEVEL), add(1, W, LEVEL), wait(),
                                op(DELETE, 1), wait(), op(DELETE, 0), wait(ONE_MS)],
    # Hang-up and error.
    "hangup_pipe_writer_closes": [op(PIPE), add(0, R), write(1), op(CLOSE, 1), wait(),
                                  op(READ, 0), modify(0, R), wait()],
    "hangup_pipe_reader_closes": [op(PIPE), add(1, W, LEVEL), wait(), op(CLOSE, 0), wait(),
                                  write(1), wait()],
    "hangup_socket_peer_closes": [op(SOCKETPAIR), add(0, R | W, EDGE), wait(), op(CLOSE, 1),
                                  wait(), wait(ZERO), op(READ, 0), wait(ZERO)],
    "error_socket_closed_with_unread_data": [op(SOCKETPAIR), write(0, 8), add(0, R, LEVEL),
                                             op(CLOSE, 1), wait(), op(READ, 0), wait()],
    "hangup_interest_none": [op(SOCKETPAIR), add(0, 0, LEVEL), op(CLOSE, 1), wait(ZERO),
                             wait(ONE_MS), modify(0, 0, ONESHOT), wait(ZERO), wait(ZERO)],
    "close_registered_handle": [op(PIPE), add(0, R, LEVEL), write(1), op(CLOSE, 0), wait(ZERO),
                                op(PIPE), add(2, R), op(CLOSE, 2), add(0, R), wait(ZERO)],
    # Errors.
    "error_add_twice": [op(SOCKETPAIR), add(0, R), add(0, W, LEVEL), write(1), wait()],
    "error_modify_unregistered": [op(PIPE), modify(0, R), modify(1, W, LEVEL), wait(ZERO)],
    "error_delete_unregistered": [op(PIPE), op(DELETE, 1), add(1, W), op(DELETE, 1),
                                  op(DELETE, 1)],
    "error_closed_handle": [op(PIPE), op(CLOSE, 0), add(0, R), modify(0, R), op(DELETE, 0),
                            wait(ZERO)],
    "error_invalid_handle": [add(INVALID_FD, R), modify(INVALID_FD, R), op(DELETE, INVALID_FD),
                             op(PIPE), add(INVALID_FD, W), wait(ZERO)],
    "error_unknown_interest_and_mode": [op(PIPE), [ADD, 0, 0, 0xC1], [ADD, 0, 0, 0x81],
                                        [ADD, 0, 0, 0x99], add(0, R), [MODIFY, 0, 0, 0xC1],
                                        [MODIFY, 0, 0, 0x89], write(1), wait()],
    # Wake.
    "wake_then_wait": [op(WAKE), wait(), wait(ONE_MS)],
    "wakes_collapse": [op(WAKE), op(WAKE), op(WAKE), wait(ZERO), wait(ONE_MS), op(WAKE), wait()],
    "wake_with_ready_handles": [op(SOCKETPAIR), add(0, W, LEVEL), add(1, W), op(WAKE), wait(),
                                wait(), op(WAKE), wait(ZERO)],
    "wake_with_edge_due": [op(PIPE), add(0, R, EDGE), write(1), op(WAKE), wait(), wait()],
    # Shutdown.
    "shutdown": [op(PIPE), add(0, R), op(SHUTDOWN), wait(), add(1, W), modify(0, R),
                 op(WAKE), op(DELETE, 0), op(DELETE, 0), op(SHUTDOWN), wait(ZERO)],
    "shutdown_then_close": [op(SOCKETPAIR), add(0, R, LEVEL), add(1, W, EDGE), op(SHUTDOWN),
                            op(CLOSE, 0), op(CLOSE, 1), add(INVALID_FD, R), wait()],
    # Many handles at once.
    "many_handles_every_mode": [op(PIPE), op(SOCKETPAIR), op(PIPE), op(SOCKETPAIR),
                                add(0, R, LEVEL), add(1, W, ONESHOT), add(2, R | W, EDGE),
                                add(3, R | W, EDGE_ONESHOT), add(4, R, EDGE), add(6, R | W, LEVEL),
                                add(7, R, ONESHOT), write(5), write(3), write(7), write(6), wait(),
                                wait(), op(READ, 2), op(CLOSE, 1), wait(), op(WAKE), wait(ZERO),
                                op(CLOSE, 7), wait(), op(SHUTDOWN), wait()],
    "full_table": [op(PIPE)] * 3 + [op(SOCKETPAIR)] * 4 + [add(i, R | W, LEVEL) for i in range(12)]
                  + [write(i) for i in range(12)] + [wait(), wait(ONE_MS)],
    # Hang-up after Delete or Modify of a handle whose poll request the kernel is completing at
    # that moment (a level re-arm of a multishot request, priority interest without readable,
    # submitted together with its cancellation): io_uring's IORING_OP_POLL_REMOVE refused the
    # cancellation (EALREADY), the request kept the closed end open and its peer never saw the
    # hang-up (found by the fuzzer).
    "hangup_after_delete_of_rearmed_multishot": [op(SOCKETPAIR), add(0, R | W, EDGE),
                                                 add(1, W | PRI, LEVEL), wait(ZERO),
                                                 op(CLOSE, 1), wait(ZERO)],
    "hangup_after_modify_of_rearmed_multishot": [op(SOCKETPAIR), add(0, R, LEVEL),
                                                 add(1, W | PRI, LEVEL), wait(ZERO),
                                                 modify(1, W, LEVEL, token=1), wait(ZERO),
                                                 op(CLOSE, 1), wait(ZERO)],
    "hangup_pipe_after_delete_of_rearmed_multishot": [op(PIPE), add(0, R, EDGE),
                                                      add(1, W | PRI, LEVEL), wait(ZERO),
                                                      op(CLOSE, 1), wait()],
    # Data that came and went while a oneshot registration was armed, then a Rearm of it (which
    # changes nothing): io_uring's completion, posted when the data came, is still reported
    # (found by the fuzzer; the model had taken the Rearm to start a new interval).
    "rearm_of_unfired_after_data_came_and_went": [op(PIPE), add(0, R, EDGE_ONESHOT), wait(ZERO),
                                                  write(1), op(READ, 0), op(REARM, 0),
                                                  wait(ZERO)],
}

# Inputs the fuzzer found, kept byte for byte (base64) as it reported them.
FOUND = {
    # io_uring: found after 254,670 runs of a 5-minute run. End 1 of a socket pair
    # (level, writable and priority interest: a multishot request) was deleted and closed while
    # its re-arm and the re-arm's cancellation went to the kernel together; the cancellation
    # was refused, so end 0 never saw the hang-up. Minimized above as
    # hangup_after_delete_of_rearmed_multishot. Its opcode bytes of 11 and more (read modulo 11
    # when it was found) are written as their remainder, which reads the same modulo 12.
    "found_io_uring_hangup_lost_after_delete_of_rearmed_multishot":
        "AQAAAAIAABMIAtiAAstPbgJ/AAgC////AgAACAgAAAADAP//Av///wL/AQAC/52dAzCdnQL/nZ0C//89Av//"
        "agAA/50D////B8EYAABgAAAIBoAAAA==",
    # io_uring: a new poller's first edge report came up to 50 ms late behind the teardown of a
    # poller destroyed just before on the same thread (the kernel ran its cancellations as that
    # thread's task work); the destructor now cancels every request itself.
    "edge_first_report_after_destroyed_poller":
        "AAAAAAYAAAAAAAAAAQAAAAIAAAkCAgECAgAAEwIDABsCBAARAgYACwIHM3YG64D///8QAAUDAAABBwAABQYAAAgC"
        "AAAIAgAABgIAAAcBAAAIAgAACQAAAAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHBwAACAL/DwoAAAAIAgAA",
    # A Modify with the registration's own arguments, after a completion the kernel had queued
    # for it was drained: io_uring took it for a Rearm of an unfired registration (which
    # changes nothing) and reported the completion, though Modify starts afresh.
    "oneshot_modify_after_queued_completion_drained":
        "AAAAAAIAABkFAQAACAIAAFN0OXR5urq6urq6urq6AAAGAAAAAwAAGQUW17ra/X8AAAEAAAgCAAAIAAAA",
}


def main():
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, program in sorted(SEEDS.items()):
        data = bytes(byte for operation in program for byte in operation)
        assert len(data) % 4 == 0, name
        with open(os.path.join(directory, name), "wb") as out:
            out.write(data)
    for name, encoded in sorted(FOUND.items()):
        with open(os.path.join(directory, name), "wb") as out:
            out.write(base64.b64decode(encoded))
    print(f"wrote {len(SEEDS)} seeds and {len(FOUND)} found inputs to {directory}")


if __name__ == "__main__":
    main()
