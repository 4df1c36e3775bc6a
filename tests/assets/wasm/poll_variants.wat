;; Input: a bare digit. 0: poll_oneoff with no subscriptions (exits with its errno);
;; 1: one fd_read subscription on stdin (exits with 40 + the number of events returned).
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $err i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 0x30))
      (then
        (call $proc_exit (call $poll (i32.const 64) (i32.const 128) (i32.const 0) (i32.const 256)))))
    ;; subscription: userdata 9, tag fd_read (1), fd 0
    (i64.store (i32.const 64) (i64.const 9))
    (i32.store8 (i32.const 72) (i32.const 1))
    (i32.store (i32.const 80) (i32.const 0))
    (local.set $err (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 256)))
    (if (local.get $err) (then (call $proc_exit (local.get $err))))
    (call $proc_exit (i32.add (i32.const 40) (i32.load (i32.const 256))))))
