module goinject/tests/runtime

go 1.22
