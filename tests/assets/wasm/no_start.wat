;; A reactor-style module: no _start, so it is not a WASI command.
(module
  (memory (export "memory") 1)
  (func (export "run")))
