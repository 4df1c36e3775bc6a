;; egress-wasm: sends its input (a request document) to spell.http_request and prints the response.
;; A failed call ({"ok":false,...}: denied, network error, timeout) goes to stderr with exit code 1,
;; so the cast fails and its message carries the error.
(module
  (import "spell" "http_request" (func $http (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 4)
  (func (export "_start")
    (local $n i32)
    (local $len i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 64512))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (local.set $n (i32.load (i32.const 16)))
    ;; response buffer: 65536 .. 262144
    (local.set $len (call $http (i32.const 1024) (local.get $n) (i32.const 65536) (i32.const 196608)))
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then (call $proc_exit (i32.const 90))))
    (if (i32.gt_s (local.get $len) (i32.const 196608)) (then (call $proc_exit (i32.const 91))))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (local.get $len))
    ;; the host writes compact JSON with "ok" first: byte 6 is the t of true or the f of false
    (if (i32.eq (i32.load8_u (i32.const 65542)) (i32.const 0x66))
      (then
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))
        (call $proc_exit (i32.const 1))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
