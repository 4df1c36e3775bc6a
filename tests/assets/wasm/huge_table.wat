;; Asks for a table of 500000 elements before running.
(module
  (table 500000 funcref)
  (memory (export "memory") 1)
  (func (export "_start")))
