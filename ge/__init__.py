"""gedialects for users: compile and run models, the commands, and the testing tools."""
