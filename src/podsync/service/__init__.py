"""The node as a login service: started with the member's session, restarted
with a back-off when it fails, logging to the home (``podsync service``)."""
