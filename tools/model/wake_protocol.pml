/*
 * The wake protocol of poller/poller.cc ("The wake protocol"), checked with
 * spin: every interleaving of one waiter, a producer P that publishes an item
 * and calls Wake(), and another waker K whose Wake() comes first and whose
 * kernel signal may be refused. Memory is x86's (TSO): sequentially
 * consistent, except that P's store of the item goes into P's store buffer
 * and reaches memory at any later moment, or at a fence or a locked
 * instruction of P. The claim checked (an assertion): the waiter's Wait
 * reaches its timeout (spin's timeout: nothing else can happen) with P's
 * Wake() returned and its item unseen only if P's wake is still pending, so
 * that the Wait returns with it and the look after it sees the item. That
 * happens only when the kernel refused K's signal while the waiter was
 * blocked and P's Wake found K's wake pending; in every other run the waiter
 * sees the item without a timeout. The waiter stops once it has seen it.
 *
 * Variants (spin -D...): OLD_FAST_PATH leaves out the fence of Wake()'s fast
 * path; OLD_WITHDRAW makes a refused wake store "no wake" instead of turning
 * only its own wake into one that owes its signal. tools/model/check_wake_model.sh checks that the
 * protocol passes and that each old variant fails.
 */

#define NO_WAKE 0
#define WAKE_OF_P 1
#define WAKE_OF_K 2
#define SIGNAL_OWED 3

byte pending = NO_WAKE;     /* wake_pending_, holding the tag of its setter */
bit may_block = 0;          /* kWaiterMayBlock of wait_state_ */
byte kernel_signals = 0;    /* the backend's wake source (an eventfd count) */
bit event_ready = 0;        /* an unrelated handle, ready once */
bit item = 0;               /* P's item in memory */
bit buffered = 0;           /* P's store of the item still in its buffer */
bit seen = 0;               /* the waiter's look found the item */
bit producer_done = 0;

/* Drains P's store buffer: at any moment, or at P's fences and RMWs. */
inline drain() {
  if
  :: buffered -> item = 1; buffered = 0
  :: else -> skip
  fi
}

active proctype StoreBuffer() {
end_buffer:
  do
  :: atomic { buffered -> item = 1; buffered = 0 }
  od
}

/* K: a Wake() before P's (its own data is not tracked), whose signal the
 * kernel may refuse for good. */
active proctype OtherWaker() {
  bit set_it = 0;
  atomic {
    if
    :: pending == NO_WAKE || pending == SIGNAL_OWED ->
       pending = WAKE_OF_K; set_it = 1
    :: else -> skip
    fi
  }
  if
  :: set_it && may_block ->
     if
     :: kernel_signals++                   /* the signal succeeds */
     :: skip;                              /* refused, after retries */
#ifdef OLD_WITHDRAW
        pending = NO_WAKE
#else
        atomic { if :: pending == WAKE_OF_K -> pending = SIGNAL_OWED
                    :: else -> skip fi }
#endif
     fi
  :: else -> skip
  fi
}

/* An unrelated handle becomes ready: it can end the waiter's Wait while K's
 * refused signal is being retried. */
active proctype Handle() {
  event_ready = 1
}

/* P: publishes its item (a plain store, into the store buffer), then Wake(). */
active proctype Producer() {
  buffered = 1;
#ifndef OLD_FAST_PATH
  drain();                                 /* F: the seq_cst fence */
#endif
  if
  :: pending != NO_WAKE && pending != SIGNAL_OWED ->
     skip                                   /* L: a wake is pending */
  :: else ->
     atomic {                               /* K1: a locked CAS drains */
       drain();
       if
       :: pending == NO_WAKE || pending == SIGNAL_OWED -> pending = WAKE_OF_P;
          if                                /* K2 */
          :: may_block -> kernel_signals++
          :: else -> skip
          fi
       :: else -> skip
       fi
     }
  fi;
  producer_done = 1
}

/* The waiter: Wait() then look, until the look finds P's item. */
active proctype Waiter() {
  bit took;
  do
  :: seen -> break
  :: else ->
     may_block = 1;                         /* W1 */
wait_again:
     took = 0;
     if
     :: pending != NO_WAKE -> skip           /* W2: poll, do not block */
     :: else ->                              /* W3: blocks */
        if
        :: atomic { kernel_signals > 0 || event_ready }
        :: timeout ->                        /* the Wait's timeout */
           /* Nothing else can happen: P's wake, if it returned, must still
            * be pending, owing the signal the kernel refused; never gone. */
           assert(!producer_done || seen || pending == SIGNAL_OWED);
           took = 1
        fi
     fi;
     atomic {                               /* the backend wait returns */
       if
       :: kernel_signals > 0 -> kernel_signals--
       :: else -> skip
       fi;
       took = took || event_ready;
       event_ready = 0
     }
     atomic {                               /* W4: TakeWake */
       if
       :: pending != NO_WAKE -> pending = NO_WAKE; took = 1
       :: else -> skip
       fi
     }
     if
     :: !took -> goto wait_again             /* a spent signal: wait on */
     :: else -> skip
     fi;
     may_block = 0;                         /* W5: LeaveWait */
     if                                     /* W6: the look */
     :: item -> seen = 1
     :: else -> skip
     fi
  od
}
