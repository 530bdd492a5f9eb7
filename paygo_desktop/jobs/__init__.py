"""Fixed-price jobs, the client's side: request a job from a provider's offer, lock its price in PayGoJobs,
follow it, download and check the delivery, approve it or take the refund.

Qt-free. ``service.JobsService`` is the entry point for one account on one network; ``view`` says what a job
is at a chain time, what can be done with it, and the reminder to show before a deadline. The job's terms
are kept in the store (``records``); its state is always read from the chain.
"""
