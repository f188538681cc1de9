module goinject.test/bench

go 1.24
