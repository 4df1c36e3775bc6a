;; Ignores its input, writes "report\n" to report.txt in the first preopened folder (fd 3, the
;; manifest's fs_write folder) and prints {"written":"report.txt"}.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "report.txt")
  (data (i32.const 96) "report\n")
  (data (i32.const 128) "{\"written\":\"report.txt\"}\n")
  (func $out (param $fd i32) (param $ptr i32) (param $len i32)
    (local $err i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (local.set $err (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 16)))
    (if (local.get $err) (then (call $proc_exit (local.get $err)))))
  (func (export "_start")
    (local $err i32)
    ;; O_CREAT | O_TRUNC, rights fd_write
    (local.set $err
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 10)
        (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20)))
    (if (local.get $err) (then (call $proc_exit (local.get $err))))
    (call $out (i32.load (i32.const 20)) (i32.const 96) (i32.const 7))
    (call $out (i32.const 1) (i32.const 128) (i32.const 25))))
