module goinject.test/faults

go 1.24
