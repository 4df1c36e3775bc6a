;; Asks for 4000 pages (250 MiB) before running a single instruction.
(module
  (memory (export "memory") 4000)
  (func (export "_start")))
