module goinject.test/e2e/latewebhook

go 1.22
