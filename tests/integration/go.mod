module goinject.test/integration

go 1.22
