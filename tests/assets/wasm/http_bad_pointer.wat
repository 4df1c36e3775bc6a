;; Calls spell.http_request with a request pointer far outside its memory; exits 90 on the ABI's -1.
(module
  (import "spell" "http_request" (func $http (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.lt_s (call $http (i32.const 0x7ffffff0) (i32.const 64) (i32.const 0) (i32.const 1024)) (i32.const 0))
      (then (call $proc_exit (i32.const 90))))))
